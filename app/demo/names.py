"""Chinese personal names as they appear on ID cards, drawn with realistic frequencies.

Surnames follow the national frequency ranking (王, 李, 张 ... cover about half of the
population); Hainan adds its own common surnames (符, 邢, 云, 羊 ...). Given names have one
or two characters and follow fashion: 伟, 芳 and 秀英 for people born in the 1960s-70s, 浩宇
and 欣怡 for those born after 1995. A few founders carry minority names written with the
middle dot (阿依古丽·买买提), as the ID card writes them.
"""

from __future__ import annotations

from random import Random

from app.demo.sampling import Weighted, pick

# National ranking, weights in per mille of the population (rounded).
NATIONAL_SURNAMES = Weighted(
    [
        *zip("王李张刘陈", (71, 70, 67, 54, 45), strict=True),
        *zip("杨黄赵吴周", (31, 23, 22, 20, 19), strict=True),
        *zip("徐孙马朱胡郭何高林罗", (16, 15, 13, 13, 13, 11, 11, 11, 10, 9), strict=True),
        *((surname, 7) for surname in "郑梁谢宋唐许韩冯邓曹"),
        *((surname, 5) for surname in "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"),
        *((surname, 3) for surname in "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"),
        *((surname, 2) for surname in "闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"),
        ("欧阳", 0.6),
        ("司马", 0.1),
        ("上官", 0.1),
        ("诸葛", 0.1),
    ]
)

# Hainan's own ranking: 陈, 王, 林, 符 and 吴 lead, and 邢, 云, 羊, 麦 are common here only.
HAINAN_SURNAMES = Weighted(
    [
        *zip("陈王林符吴李黄", (80, 75, 60, 50, 50, 45, 40), strict=True),
        *zip("张周邢杨刘冯郑", (30, 25, 25, 20, 20, 20, 20), strict=True),
        *((surname, 15) for surname in "云蔡梁潘韩"),
        *((surname, 12) for surname in "许钟何"),
        *((surname, 10) for surname in "谢曾郭邓羊"),
        *((surname, 8) for surname in "麦莫文孙赵朱"),
        *((surname, 6) for surname in "吉卓蒙庞欧"),
    ]
)
# Share of Hainan founders whose family came from elsewhere in China.
HAINAN_NATIONAL_SHARE = 0.2

MALE_CLASSIC = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞波建国峰亮成志文海东兵锋雄林龙春德荣福贵生清永忠新利胜光庆长宏"
)
MALE_MODERN = "浩宇轩子豪博睿泽俊凯天宸皓晨逸铭然航鑫阳翔嘉诚昊瑞奕哲楷梓帆锐烨家霖"
FEMALE_CLASSIC = "芳娜敏静丽艳娟霞秀玲桂英华梅琳燕红萍兰凤洁莉珍丹琴云慧美金春月"
FEMALE_MODERN = "欣怡婷雪倩颖佳悦雨诗梦晓彤琪瑶萱涵婧琳妍璐菲楠蕾薇思可馨雅宁嘉"

# Uyghur and Kazakh names: given name, then the father's name, joined by a middle dot.
MINORITY_MALE = ("艾力", "买买提", "阿卜杜拉", "努尔兰", "吐尔逊", "热合曼", "艾山", "伊力哈木")
MINORITY_FEMALE = ("古丽娜尔", "迪丽努尔", "阿依古丽", "帕提古丽", "热依拉", "米热古丽")
MINORITY_FATHER = ("艾买提", "吐尔逊", "阿不都", "买买提", "热合曼", "玉素甫", "司马义")
MINORITY_SHARE = 0.005

SINGLE_CHARACTER_SHARE = 0.25
DOUBLED_FEMALE_SHARE = 0.04  # 婷婷, 丹丹


def _modern_share(birth_year: int) -> float:
    """How likely a given-name character comes from the modern pool for this generation."""
    if birth_year < 1980:
        return 0.1
    if birth_year < 1990:
        return 0.35
    if birth_year < 1995:
        return 0.6
    return 0.85


def given_name(rng: Random, *, male: bool, birth_year: int) -> str:
    """A given name of one or two characters that fits the person's sex and generation."""
    modern = _modern_share(birth_year)

    def character() -> str:
        if male:
            return pick(rng, MALE_MODERN if rng.random() < modern else MALE_CLASSIC)
        return pick(rng, FEMALE_MODERN if rng.random() < modern else FEMALE_CLASSIC)

    first = character()
    if rng.random() < SINGLE_CHARACTER_SHARE:
        return first
    if not male and rng.random() < DOUBLED_FEMALE_SHARE:
        return first + first
    second = character()
    while second == first:
        second = character()
    return first + second


def surname(rng: Random, *, region_code: str) -> str:
    """A surname, drawn from Hainan's own ranking for most Hainan founders."""
    if region_code.startswith("46") and rng.random() >= HAINAN_NATIONAL_SHARE:
        return HAINAN_SURNAMES.draw(rng)
    return NATIONAL_SURNAMES.draw(rng)


def minority_name(rng: Random, *, male: bool) -> str:
    """A Uyghur or Kazakh name in Chinese characters, written with the middle dot."""
    own = pick(rng, MINORITY_MALE if male else MINORITY_FEMALE)
    return f"{own}·{pick(rng, MINORITY_FATHER)}"


def person_name(rng: Random, *, male: bool, birth_year: int, region_code: str) -> str:
    """A full name as written on the ID card."""
    if rng.random() < MINORITY_SHARE:
        return minority_name(rng, male=male)
    return surname(rng, region_code=region_code) + given_name(rng, male=male, birth_year=birth_year)
