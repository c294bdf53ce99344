"""Demo library projects (SPEC §7) for Hainan and Shanghai, and founders' adoptions of them.

The projects are the kind guidance centres publish: small food processing, e-commerce of
local produce, repair services, homestays, tea, catering, crafts, elderly care. Most are
published, a few are drafts, one is retired, and one province project was promoted from a
city's. About one founder in five adopts a published project of their library (their
city's or their province's), some time after registering and never after `as_of`.
Founders are read back in id ranges and adoptions written a batch at a time, so a
million-founder seed stays in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from typing import Any

from sqlalchemy import func, insert, select

from app.auth.models import User
from app.core.dates import CHINA_TIME
from app.core.db import utcnow
from app.core.permissions import Role
from app.demo.bulk import insert_rows, move_id_sequence_past
from app.demo.sampling import pick, triangular_int
from app.extensions import db
from app.founders.models import Founder
from app.library.models import LibraryAdoption, LibraryProject, ProjectLevel, ProjectStatus
from app.library.rules import check_project
from app.regions.models import Region

# Share of founders who adopt a project.
ADOPTION_SHARE = 0.2
# Founders read per query, and adoptions written per batch.
BATCH_SIZE = 5_000
# A founder who adopts does so within this many days of registering (or of publication).
ADOPTION_WINDOW_DAYS = 240
# The demo founder adopts her project this many days after registering.
SHOWCASE_ADOPTION_DAYS = (2, 7, 20)


@dataclass(frozen=True)
class DemoProject:
    """One demo project: its fields, where it lives, its status and (for a promoted
    province project) the key of the city project it came from."""

    key: str
    region_code: str
    title: str
    industry: str
    investment_min: str
    investment_max: str
    payback_months: int
    jobs_potential: int
    summary: str
    market: str
    risks: str
    startup_steps: str
    licences: str
    expert_contact: str
    status: str = ProjectStatus.PUBLISHED
    promoted_from: str | None = None

    def values(self) -> dict[str, Any]:
        """The fields `check_project` reads."""
        return {
            "title": self.title,
            "industry": self.industry,
            "investment_min": self.investment_min,
            "investment_max": self.investment_max,
            "payback_months": self.payback_months,
            "jobs_potential": self.jobs_potential,
            "summary": self.summary,
            "market": self.market,
            "risks": self.risks,
            "startup_steps": self.startup_steps,
            "licences": self.licences,
            "expert_contact": self.expert_contact,
        }


HAINAN = "460000"
SHANGHAI = "310000"
PROVINCES = (HAINAN, SHANGHAI)
_BUSINESS_LICENCE = "营业执照"
_FOOD_BUSINESS = "营业执照、食品经营许可证"

DEMO_PROJECTS: tuple[DemoProject, ...] = (
    # --- Wenchang (city), one of them later promoted to the province ---------------------
    DemoProject(
        "wenchang-coconut",
        "469005",
        "椰子加工小作坊",
        "food",
        "60000.00",
        "150000.00",
        18,
        4,
        "就地收购文昌鲜椰，加工椰子水、椰奶、椰子糖和椰丝，供应周边餐饮店、超市和旅游商店。"
        "小作坊规模，夫妻店即可起步，旺季可临时增加帮工。",
        "文昌椰子产量占全省四成以上，原料近、价格低；游客伴手礼和本地茶饮店对椰子制品需求稳定，"
        "椰奶可直供老爸茶店和糖水铺。",
        "椰子收购价随台风和季节波动；椰子水保质期短，需冷链或当日配送；"
        "必须符合小作坊食品安全要求，卫生抽检不合格将被责令停产。",
        "1. 选址（远离污染源，面积 60 平方米以上）并办理营业执照；"
        "2. 向市场监管部门申请食品小作坊登记；3. 购置开椰机、榨汁机、杀菌设备；"
        "4. 试产并送检；5. 与 3—5 家餐饮店、旅游商店签订供货协议。",
        "营业执照、食品小作坊登记证、从业人员健康证",
        "文昌市创业指导中心 创业导师 林海燕",
    ),
    DemoProject(
        "wenchang-chicken",
        "469005",
        "文昌鸡养殖",
        "agriculture",
        "80000.00",
        "200000.00",
        24,
        3,
        "林下散养文昌鸡，130 天以上出栏，直供海口、文昌的餐馆和农贸市场，"
        "可与合作社签订保底收购协议。",
        "文昌鸡是海南四大名菜之首，餐馆对散养足龄鸡需求大，品牌溢价明显，春节前后价格最高。",
        "禽流感等疫病风险，需严格免疫和消毒；饲料价格上涨压缩利润；"
        "养殖场选址须符合畜禽养殖禁养区规定。",
        "1. 在非禁养区租用林地 10 亩以上；2. 办理动物防疫条件合格证；"
        "3. 建设鸡舍、围网和消毒池；4. 从种苗场引进文昌鸡苗；5. 对接餐馆和收购合作社。",
        "营业执照、动物防疫条件合格证",
        "文昌市畜牧技术推广站 符国强",
    ),
    DemoProject(
        "wenchang-space-study",
        "469005",
        "航天主题研学营地",
        "education",
        "150000.00",
        "400000.00",
        30,
        6,
        "依托文昌航天发射场，面向中小学生开展航天科普研学：观看发射、火箭模型制作、天文观测，"
        "与学校和旅行社合作组团。",
        "研学旅行纳入中小学教育教学计划，文昌发射日游客集中，航天主题在全国独一无二。",
        "发射时间不确定，行程需灵活调整；未成年人活动安全责任重，必须购买保险并配足带队老师。",
        "1. 注册公司并确定研学课程；2. 租用场地、配置教具；3. 与旅行社签订合作协议；"
        "4. 购买公众责任险和意外险；5. 先与 2—3 所学校试办。",
        "营业执照、（如含住宿）特种行业许可证",
        "文昌市创业指导中心 创业导师 林海燕",
        status=ProjectStatus.DRAFT,
    ),
    # --- Hainan province ----------------------------------------------------------------
    DemoProject(
        "hainan-coconut",
        HAINAN,
        "椰子加工小作坊",
        "food",
        "60000.00",
        "150000.00",
        18,
        4,
        "文昌的成功经验推广到全省：就地收购鲜椰，加工椰子水、椰奶、椰子糖和椰丝，"
        "供应餐饮店、超市和旅游商店。文昌已有十余户按此开办。",
        "全省椰子种植面积大，东部市县原料充足；椰子制品是游客首选伴手礼之一，"
        "茶饮店对椰奶的需求逐年增长。",
        "原料价格季节性波动；产品保质期短；食品安全抽检不合格将被责令停产。",
        "1. 选址并办理营业执照；2. 申请食品小作坊登记；3. 购置开椰、榨汁和杀菌设备；"
        "4. 试产送检；5. 对接餐饮店、商超和旅游商店。",
        "营业执照、食品小作坊登记证、从业人员健康证",
        "省创业指导中心 创业导师 王海燕",
        promoted_from="wenchang-coconut",
    ),
    DemoProject(
        "hainan-fruit-live",
        HAINAN,
        "热带水果电商直播",
        "ecommerce",
        "20000.00",
        "60000.00",
        10,
        3,
        "在抖音、快手、淘宝直播间销售芒果、荔枝、莲雾、菠萝等本地水果，产地直发，"
        "与果园和物流企业合作，一人主播、两人打包即可起步。",
        "海南水果错季上市，北方市场认可度高；直播带货转化率高，"
        "产地直发比批发多出 20%—40% 的利润空间。",
        "水果易损耗，售后赔付比例高；平台规则变化快，流量成本上升；"
        "旺季集中，淡季需要其他品类补充。",
        "1. 办理营业执照并开通电商平台店铺；2. 与 2—3 家果园签订供货协议；"
        "3. 购置直播设备、打包材料；4. 与快递公司谈好冷链或加急价格；5. 参加电商直播培训。",
        "营业执照、食品经营许可证（仅销售预包装食品的可备案）",
        "省电子商务协会 创业导师 陈思雨",
    ),
    DemoProject(
        "hainan-homestay",
        HAINAN,
        "乡村民宿",
        "homestay",
        "150000.00",
        "500000.00",
        36,
        4,
        "利用自有或租赁的农村闲置房屋改造成 5—8 间客房的民宿，提供本地农家菜和乡村体验活动，"
        "在携程、美团等平台接单。",
        "海南自贸港建设带动乡村旅游，自驾游客偏爱有特色的乡村民宿；"
        "各市县对美丽乡村民宿有装修补贴。",
        "淡旺季明显，冬季入住率高、夏季低；装修投入大，回收期长；"
        "消防、治安要求严格，未取得证照不得经营。",
        "1. 确认房屋权属和用地性质；2. 设计改造方案并通过消防验收；"
        "3. 办理营业执照、特种行业许可证和卫生许可证；4. 上线订房平台；5. 开发农事体验项目。",
        "营业执照、特种行业许可证、公共场所卫生许可证、消防安全检查合格证",
        "省旅游民宿协会 创业导师 吴晓东",
    ),
    DemoProject(
        "hainan-appliance-repair",
        HAINAN,
        "家电维修服务站",
        "repair",
        "30000.00",
        "80000.00",
        12,
        3,
        "在社区或乡镇开设家电维修服务站，维修空调、冰箱、洗衣机、热水器，兼做空调清洗和安装，"
        "可加盟品牌售后网点。",
        "海南气候湿热，空调使用时间长、清洗保养需求大；乡镇缺少正规维修点，"
        "品牌售后网点还能获得厂家派单。",
        "技师流动性大；高空安装空调有安全风险，必须持证作业并购买保险；"
        "配件价格透明度高，利润偏低。",
        "1. 考取制冷与空调作业特种作业证；2. 租用 20 平方米以上门面；"
        "3. 办理营业执照；4. 购置工具和常用配件；5. 申请加入品牌售后网络。",
        "营业执照、特种作业操作证（制冷与空调作业、高处作业）",
        "省职业技能鉴定指导中心 张建华",
    ),
    DemoProject(
        "hainan-elderly-meals",
        HAINAN,
        "社区养老助餐",
        "health",
        "100000.00",
        "300000.00",
        30,
        6,
        "在社区开办长者食堂，为 60 岁以上老人提供午餐和晚餐，可送餐上门；"
        "享受政府助餐补贴，同时对社区居民开放。",
        "全省老龄人口比例逐年上升，社区助餐被列为民生实事，运营方可获场地和每餐补贴。",
        "食品安全责任重大；老人价格敏感，需依靠补贴维持；场地往往由社区提供，合同期有不确定性。",
        "1. 与街道、社区居委会对接场地；2. 办理营业执照和食品经营许可证；"
        "3. 招聘持健康证的厨师和配餐员；4. 申请民政部门助餐补贴；5. 建立老人用餐登记台账。",
        "营业执照、食品经营许可证、从业人员健康证",
        "省民政厅养老服务指导中心 黄秀兰",
    ),
    DemoProject(
        "hainan-crossborder",
        HAINAN,
        "跨境电商代运营",
        "ecommerce",
        "50000.00",
        "150000.00",
        14,
        5,
        "为本地企业代运营亚马逊、Shopee、TikTok Shop 等跨境店铺，提供选品、上架、广告投放和客服，"
        "按服务费加销售提成收费。",
        "自贸港政策鼓励跨境电商，本地企业缺少懂外语和平台规则的运营人员，代运营需求增长快。",
        "平台封店风险；客户回款周期长；对外语和数据分析能力要求高，人才不好招。",
        "1. 注册公司并开立外币结算账户；2. 组建 3—5 人运营团队；3. 考取平台认证；"
        "4. 以 2 家试点客户起步，积累案例；5. 申请跨境电商产业园入驻。",
        _BUSINESS_LICENCE,
        "海口综合保税区跨境电商服务中心 刘洋",
    ),
    DemoProject(
        "hainan-car-care",
        HAINAN,
        "汽车美容",
        "repair",
        "80000.00",
        "200000.00",
        20,
        4,
        "开设洗车、打蜡、内饰清洁、镀膜和贴膜的汽车美容店，办理储值会员卡，"
        "可与二手车商和保险公司合作。",
        "全省汽车保有量逐年增加，海风和雨季使车辆清洗、防锈需求高；会员制带来稳定现金流。",
        "选址决定客流；洗车污水须接入市政管网；储值卡须依法备案，门店关闭易引发纠纷。",
        "1. 选址（临街、可停车 3 辆以上）；2. 办理营业执照和排水许可；"
        "3. 购置高压清洗机、吸尘器、抛光机；4. 参加汽车美容技能培训；5. 开展开业促销和会员办理。",
        "营业执照、城镇污水排入排水管网许可证",
        "省汽车维修行业协会 周志明",
    ),
    DemoProject(
        "hainan-housekeeping",
        HAINAN,
        "家政服务（月嫂与保洁）",
        "domestic_services",
        "20000.00",
        "60000.00",
        8,
        10,
        "组织经过培训的月嫂、育儿嫂和保洁员，为家庭提供母婴护理、日常保洁和深度清洁服务，"
        "按单或按月收费。",
        "二孩三孩政策和候鸟老人带来大量家政需求，持证月嫂供不应求。",
        "服务纠纷和人身意外风险，需签订规范合同并购买家政责任险；人员流动大，需持续招聘培训。",
        "1. 办理营业执照；2. 招募人员并组织母婴护理、保洁技能培训；"
        "3. 购买家政服务责任险；4. 入驻家政服务平台；5. 建立服务评价和回访制度。",
        _BUSINESS_LICENCE,
        "省家庭服务业协会 杨丽",
    ),
    DemoProject(
        "hainan-cold-chain",
        HAINAN,
        "冷链物流配送",
        "transport",
        "200000.00",
        "600000.00",
        36,
        5,
        "购置 2—3 辆冷藏车，为果园、海鲜养殖户和餐饮店提供市县之间的冷链配送，对接港口和机场货运。",
        "热带水果和海鲜外销量大，冷链运力缺口明显；旺季运价高。",
        "车辆投入大、油价波动；淡旺季货量差距大；温控失误会导致整车货损赔偿。",
        "1. 注册运输公司；2. 购置冷藏车并安装温度监控；3. 办理道路运输经营许可证；"
        "4. 与 5 家以上货主签订长期协议；5. 购买货物运输险。",
        "营业执照、道路运输经营许可证、道路运输证",
        "省物流行业协会 郑伟",
    ),
    DemoProject(
        "hainan-village-ecommerce",
        HAINAN,
        "农村电商服务站",
        "ecommerce",
        "30000.00",
        "80000.00",
        16,
        2,
        "在行政村开设电商服务站：代购代销、快递收发、农产品网上销售和缴费服务，"
        "由县级电商中心统一供货和培训。",
        "农村快递进村和农产品上行是政策重点，服务站可获县级电商补贴。",
        "村级业务量有限，需多种业务叠加；快递派费低。",
        "1. 与县级电商公共服务中心签约；2. 租用村内门面；3. 办理营业执照；"
        "4. 参加电商培训；5. 对接快递公司开展代收代发。",
        _BUSINESS_LICENCE,
        "省商务厅电商处 创业导师 陈思雨",
        status=ProjectStatus.DRAFT,
    ),
    # --- Haikou -------------------------------------------------------------------------
    DemoProject(
        "haikou-hainan-noodles",
        "460100",
        "海南粉小吃店",
        "catering",
        "50000.00",
        "120000.00",
        12,
        4,
        "开设 30—50 平方米的海南粉（腌粉、汤粉）和抱罗粉小吃店，早餐、午餐为主，兼做外卖。",
        "海南粉是本地人的日常早餐，游客也会专门寻找；社区和学校周边客流稳定。",
        "同类店铺多，口味决定回头客；房租和米粉原料成本上涨；食品安全检查严格。",
        "1. 学习卤汁和配料制作；2. 选址（社区、学校、写字楼附近）；"
        "3. 办理营业执照和食品经营许可证；4. 装修并购置厨具；5. 上线外卖平台。",
        "营业执照、食品经营许可证、从业人员健康证",
        "海口市创业指导中心 创业导师 李明",
    ),
    DemoProject(
        "haikou-grocery",
        "460100",
        "社区生鲜便利店",
        "retail",
        "100000.00",
        "250000.00",
        24,
        4,
        "在新建小区开设 80—120 平方米的生鲜便利店，销售蔬菜、水果、肉禽和日用品，"
        "开通社区团购和送货上门。",
        "新建小区周边缺少菜市场，居民对近距离买菜需求大；社区团购提高复购。",
        "生鲜损耗高，需精细订货；与大型商超和平台竞争；需冷柜等设备投入。",
        "1. 调研小区入住率后选址；2. 办理营业执照和食品经营许可证；"
        "3. 与批发市场和基地建立供货渠道；4. 购置冷柜、货架和收银系统；5. 建立社区微信群。",
        _FOOD_BUSINESS,
        "海口市创业指导中心 创业导师 李明",
    ),
    DemoProject(
        "haikou-phone-repair",
        "460100",
        "手机电脑维修店",
        "repair",
        "20000.00",
        "50000.00",
        8,
        2,
        "在商圈或高校周边开设手机、电脑维修店，提供换屏、换电池、数据恢复和系统维护，"
        "兼营配件销售。",
        "智能手机普及、换机周期变长，维修需求稳定；学生群体对价格实惠的维修店依赖度高。",
        "技术更新快，需持续学习；配件质量参差不齐，易引发售后纠纷；数据隐私须严格保护。",
        "1. 参加手机维修技能培训；2. 租用 10—20 平方米门面；3. 办理营业执照；"
        "4. 购置维修工具和常用配件；5. 在地图和点评平台登记店铺。",
        _BUSINESS_LICENCE,
        "海口市创业指导中心 维修技师 蔡文彬",
    ),
    DemoProject(
        "haikou-tea-house",
        "460100",
        "老爸茶茶馆",
        "catering",
        "40000.00",
        "100000.00",
        12,
        3,
        "经营传统海南老爸茶：红茶、奶茶配各式茶点，营业时间长，客单价低、翻台率高，"
        "可为老街坊提供聚会场所。",
        "老爸茶是海口市民的生活方式，也成为游客体验本地生活的热门项目。",
        "利润薄，依赖稳定客流；茶点制作人手需求大；老城区门面租金上涨。",
        "1. 选址（老城区、社区）；2. 办理营业执照和食品经营许可证；"
        "3. 学习茶点制作；4. 购置桌椅和厨房设备；5. 开业推出茶点套餐。",
        "营业执照、食品经营许可证、从业人员健康证",
        "海口市餐饮行业协会 王秀珍",
    ),
    DemoProject(
        "haikou-short-video",
        "460100",
        "短视频代运营工作室",
        "technology",
        "30000.00",
        "80000.00",
        10,
        4,
        "为本地商家拍摄和运营抖音、视频号账号：策划脚本、拍摄剪辑、投放和数据复盘，按月收费。",
        "本地餐饮、民宿和门店普遍需要短视频获客，但缺乏专业团队。",
        "客户效果预期高，续约不稳定；平台算法变化影响效果；人员技能要求高。",
        "1. 组建策划、拍摄、剪辑 3 人团队；2. 办理营业执照；3. 购置拍摄和剪辑设备；"
        "4. 以免费试拍积累案例；5. 制定套餐价格。",
        _BUSINESS_LICENCE,
        "海口市创业孵化基地 导师 郭晨",
        status=ProjectStatus.DRAFT,
    ),
    DemoProject(
        "haikou-orchids",
        "460100",
        "热带兰花种植",
        "agriculture",
        "150000.00",
        "400000.00",
        36,
        6,
        "建设简易大棚种植石斛兰、蝴蝶兰，供应花卉批发市场和年宵花市场。",
        "曾是年宵花热门品类，但近年内地大棚产量增加，价格持续走低。",
        "大棚投入大、台风损毁风险高；市场价格下跌，已不建议新进入。",
        "1. 租地并建设遮阳大棚；2. 引进种苗；3. 学习栽培技术；4. 对接批发商。",
        "营业执照",
        "海口市农业技术推广中心 许丽",
        status=ProjectStatus.RETIRED,
    ),
    # --- Sanya --------------------------------------------------------------------------
    DemoProject(
        "sanya-diving",
        "460200",
        "潜水培训",
        "tourism",
        "150000.00",
        "400000.00",
        24,
        5,
        "在三亚湾、蜈支洲岛周边开设潜水培训中心，提供体验潜水和 PADI/CMAS 开放水域课程，"
        "与酒店和旅行社合作获客。",
        "三亚是国内最成熟的潜水目的地，潜水考证人群快速增长，客单价高。",
        "潜水安全责任重大，教练必须持证，须购买足额保险；台风季停业；海域使用须经许可。",
        "1. 招聘持证潜水教练；2. 注册公司并办理高危险性体育项目经营许可；"
        "3. 购置或租赁潜水装备和船只；4. 购买公众责任险；5. 与酒店、旅行社签约。",
        "营业执照、高危险性体育项目经营许可证、潜水教练资格证书",
        "三亚市旅游协会 潜水教练 何俊",
    ),
    DemoProject(
        "sanya-sea-view-homestay",
        "460200",
        "海景民宿",
        "homestay",
        "300000.00",
        "800000.00",
        40,
        5,
        "租赁海边民房改造为 8—12 间海景客房，提供接送机、潜水和出海预订等增值服务。",
        "冬季旅游旺季房价高，自由行游客偏好有特色的民宿。",
        "房租高、回收期长；夏季淡季入住率低；消防和特种行业许可要求严格。",
        "1. 确认房屋权属和租期（建议 8 年以上）；2. 设计改造并通过消防验收；"
        "3. 办理营业执照、特种行业许可证和卫生许可证；4. 上线订房平台；5. 开发增值服务。",
        "营业执照、特种行业许可证、公共场所卫生许可证",
        "三亚市民宿协会 赵婷",
    ),
    DemoProject(
        "sanya-travel-photo",
        "460200",
        "旅拍摄影工作室",
        "tourism",
        "50000.00",
        "150000.00",
        12,
        4,
        "为游客和新人提供海边旅拍、婚纱照和亲子照，含服装、化妆和后期修图，线上预约。",
        "三亚是婚纱旅拍热门地，客单价高，节假日订单集中。",
        "同行竞争激烈，价格战明显；受天气影响大；需处理好景区拍摄许可。",
        "1. 组建摄影、化妆和修图团队；2. 办理营业执照；3. 购置摄影器材和服装；"
        "4. 在社交平台和点评平台展示作品；5. 与酒店合作推广。",
        _BUSINESS_LICENCE,
        "三亚市创业指导中心 导师 麦小燕",
    ),
    DemoProject(
        "sanya-mango",
        "460200",
        "芒果种植与电商销售",
        "agriculture",
        "80000.00",
        "250000.00",
        30,
        4,
        "承包 20 亩芒果园，标准化种植贵妃芒、金煌芒，通过电商和批发商双渠道销售。",
        "三亚芒果上市早、口感好，地理标志产品溢价明显。",
        "受天气和病虫害影响大；采摘期集中，需提前准备劳动力和物流。",
        "1. 流转土地并签订承包合同；2. 参加果树栽培培训；3. 购置喷灌和植保设备；"
        "4. 办理营业执照并开设网店；5. 与物流企业签订旺季协议。",
        _BUSINESS_LICENCE,
        "三亚市农业技术推广站 孙海",
    ),
    # --- Qionghai -----------------------------------------------------------------------
    DemoProject(
        "qionghai-homestay",
        "469002",
        "乡村民宿",
        "homestay",
        "120000.00",
        "350000.00",
        36,
        3,
        "在博鳌、潭门周边村庄改造闲置民房，经营 4—6 间客房的乡村民宿，提供渔村文化和热带田园体验。",
        "博鳌亚洲论坛和潭门渔港带动游客，周边乡村民宿供给少。",
        "论坛期间以外客流下降；装修投入回收期长；证照办理周期较长。",
        "1. 确认房屋权属；2. 改造并通过消防验收；3. 办理营业执照和特种行业许可证；"
        "4. 上线订房平台；5. 与村集体合作开发体验项目。",
        "营业执照、特种行业许可证、公共场所卫生许可证",
        "琼海市创业指导中心 卢志强",
    ),
    DemoProject(
        "qionghai-dried-seafood",
        "469002",
        "潭门海鲜干货加工",
        "food",
        "60000.00",
        "180000.00",
        18,
        5,
        "收购潭门渔港的鲜鱼、鱿鱼和虾，晒制、真空包装成海鲜干货，供应游客和电商渠道。",
        "潭门海鲜干货知名度高，是游客必买伴手礼，电商渠道复购率高。",
        "原料受休渔期影响；晒制受天气影响；须取得食品生产许可，小作坊不得超范围生产。",
        "1. 选址建设晒场和加工间；2. 申请食品生产许可或小作坊登记；"
        "3. 购置真空包装机和冷库；4. 与渔民签订收购协议；5. 开设网店。",
        "营业执照、食品生产许可证（或食品小作坊登记证）",
        "琼海市市场监管局 食品安全指导员 王军",
    ),
    DemoProject(
        "qionghai-jiaji-duck",
        "469002",
        "嘉积鸭养殖",
        "agriculture",
        "50000.00",
        "150000.00",
        18,
        2,
        "在河塘、林下养殖嘉积鸭，采用传统填喂育肥，出栏供应餐馆和农贸市场。",
        "嘉积鸭是海南四大名菜之一，餐馆需求稳定。",
        "水禽疫病风险；环保要求提高，养殖废水须处理。",
        "1. 租用养殖用地；2. 办理动物防疫条件合格证；3. 建设鸭舍和污水处理设施；"
        "4. 引进鸭苗；5. 对接餐馆。",
        "营业执照、动物防疫条件合格证",
        "琼海市畜牧兽医服务中心 冯志",
    ),
    # --- Danzhou ------------------------------------------------------------------------
    DemoProject(
        "danzhou-rice-noodle",
        "460400",
        "儋州米烂小吃店",
        "catering",
        "30000.00",
        "80000.00",
        10,
        3,
        "经营儋州米烂、儋州粽子等地方小吃，门店加外卖，早餐和夜宵两个时段营业。",
        "儋州米烂是当地特色早餐，那大城区人口集中，外卖需求增长。",
        "同质化竞争；米烂发酵工艺需要经验；夏季食材易变质。",
        "1. 学习米烂制作工艺；2. 选址并办理营业执照和食品经营许可证；3. 装修并购置厨具；"
        "4. 上线外卖平台。",
        "营业执照、食品经营许可证、从业人员健康证",
        "儋州市创业指导中心 创业导师 羊春梅",
    ),
    DemoProject(
        "danzhou-honey",
        "460400",
        "林下养蜂",
        "agriculture",
        "20000.00",
        "60000.00",
        14,
        2,
        "在橡胶林和荔枝、龙眼果园养殖中华蜜蜂，生产荔枝蜜、龙眼蜜和百花蜜，线上线下销售。",
        "天然蜂蜜需求稳定，海南全年花期长，产蜜量高。",
        "蜂群病害和农药中毒风险；蜂蜜品质检测要求高；冒牌产品扰乱价格。",
        "1. 参加养蜂技术培训；2. 购置蜂箱和摇蜜机；3. 与果园、胶园协商放蜂场地；"
        "4. 办理营业执照和食品生产许可；5. 建立品牌和销售渠道。",
        "营业执照、食品生产许可证（蜂产品）",
        "儋州市农业技术推广中心 李春",
    ),
    DemoProject(
        "danzhou-auto-repair",
        "460400",
        "汽车快修保养店",
        "repair",
        "100000.00",
        "250000.00",
        24,
        4,
        "开设汽车快修保养店：更换机油、轮胎、刹车片，空调维修和四轮定位，兼做洗车。",
        "儋州洋浦经济开发区带动车辆增长，城区正规快修店不足。",
        "技师难招；配件进货须保证正品；维修废油须交有资质单位处理。",
        "1. 选址（城区主干道）；2. 办理营业执照和机动车维修经营备案；"
        "3. 购置举升机、四轮定位仪；4. 招聘持证技师；5. 与配件供应商签约。",
        "营业执照、机动车维修经营备案",
        "儋州市交通运输局 维修行业指导员 陈刚",
    ),
    # --- Baisha -------------------------------------------------------------------------
    DemoProject(
        "baisha-green-tea",
        "469025",
        "白沙绿茶种植与加工",
        "agriculture",
        "100000.00",
        "300000.00",
        36,
        8,
        "承包茶园种植白沙绿茶，建设小型初制茶厂，采摘、杀青、揉捻、烘干一体化，销售散茶和礼盒茶。",
        "白沙绿茶是国家地理标志产品，生长在陨石坑周边，品牌知名度高，礼盒茶利润高。",
        "茶园投产周期长，前两年收入少；加工需取得食品生产许可；采茶季用工紧张。",
        "1. 承包茶园或与合作社合作；2. 参加茶叶种植加工培训；3. 建设初制茶厂并申请食品生产许可；"
        "4. 设计包装和品牌；5. 开拓茶叶店、电商和旅游渠道。",
        "营业执照、食品生产许可证（茶叶）",
        "白沙黎族自治县茶叶技术推广站 符文",
    ),
    DemoProject(
        "baisha-li-brocade",
        "469025",
        "黎锦手工艺",
        "crafts",
        "10000.00",
        "40000.00",
        12,
        6,
        "组织黎族妇女传承纺、染、织、绣技艺，制作黎锦挂画、手包、围巾等文创产品，"
        "在景区和线上销售，可承接研学体验。",
        "黎锦技艺是世界级非物质文化遗产，文创产品受游客欢迎，政府支持非遗工坊。",
        "手工制作产量低、成本高；需设计适合现代消费的产品；销售渠道依赖旅游客流。",
        "1. 召集掌握技艺的绣娘成立工坊；2. 办理营业执照；3. 申请非遗工坊扶持；"
        "4. 与设计师合作开发产品；5. 进驻景区商店和电商平台。",
        _BUSINESS_LICENCE,
        "白沙黎族自治县文化馆 非遗传承人 符秀英",
    ),
    # --- Wanning ------------------------------------------------------------------------
    DemoProject(
        "wanning-coffee",
        "469006",
        "兴隆咖啡烘焙坊",
        "food",
        "80000.00",
        "200000.00",
        20,
        4,
        "收购兴隆本地咖啡豆，小型烘焙、研磨和包装，门店现做咖啡并销售咖啡豆礼盒。",
        "兴隆咖啡有六十多年历史，游客认可度高；精品咖啡消费快速增长。",
        "本地豆产量有限、价格较高；烘焙技术要求高；门店受景区客流影响。",
        "1. 参加咖啡烘焙培训；2. 办理营业执照和食品生产、经营许可；3. 购置烘焙机和咖啡机；"
        "4. 与咖啡种植户签订收购协议；5. 设计礼盒和开设网店。",
        "营业执照、食品生产许可证、食品经营许可证",
        "万宁市创业指导中心 导师 黄伟",
    ),
    DemoProject(
        "wanning-surf",
        "469006",
        "冲浪培训俱乐部",
        "tourism",
        "60000.00",
        "180000.00",
        18,
        4,
        "在日月湾开设冲浪培训俱乐部，提供冲浪课程、装备租赁和冲浪主题住宿预订。",
        "日月湾是国际冲浪赛事举办地，冲浪运动在年轻人中快速流行。",
        "季节和海况影响大；教学安全责任重，须持证上岗并购买保险。",
        "1. 招聘持证冲浪教练；2. 办理营业执照；3. 购置冲浪板和防护装备；"
        "4. 购买公众责任险和学员意外险；5. 在社交平台推广课程。",
        "营业执照、冲浪教练资格证书",
        "万宁市旅游文化局 体育指导员 邓飞",
    ),
    # --- Chengmai and Qiongzhong --------------------------------------------------------
    DemoProject(
        "chengmai-orange",
        "469023",
        "澄迈福橙种植",
        "agriculture",
        "80000.00",
        "220000.00",
        36,
        3,
        "种植澄迈福橙，推广绿色防控和水肥一体化，成熟期通过电商和商超销售。",
        "澄迈福橙是地理标志产品，口感好、上市早，电商销量逐年增长。",
        "果树挂果需 3 年，前期投入大；黄龙病等病害风险。",
        "1. 流转土地；2. 引进无病毒种苗；3. 建设水肥一体化设施；4. 参加栽培培训；"
        "5. 对接电商和商超。",
        _BUSINESS_LICENCE,
        "澄迈县农业技术推广中心 吴振",
    ),
    DemoProject(
        "qiongzhong-bees",
        "469030",
        "琼中山区养蜂",
        "agriculture",
        "15000.00",
        "50000.00",
        12,
        2,
        "在琼中山区林下养殖中华蜜蜂，参加蜂蜜合作社统一收购和品牌销售。",
        "琼中蜂蜜品牌已形成，合作社保底收购，风险较低。",
        "蜂群逃群和病害；雨季产量下降。",
        "1. 参加养蜂培训；2. 加入蜂蜜合作社；3. 购置蜂箱；4. 选择林下场地；"
        "5. 按合作社标准采蜜交售。",
        _BUSINESS_LICENCE,
        "琼中黎族苗族自治县蜂业协会 王成",
    ),
    # --- Shanghai -----------------------------------------------------------------------
    DemoProject(
        "shanghai-community-cafe",
        SHANGHAI,
        "社区咖啡店",
        "catering",
        "150000.00",
        "350000.00",
        24,
        4,
        "在居民区和写字楼之间开设 20—40 平方米的社区咖啡店，以外带和外卖为主，兼售简餐和烘焙。",
        "上海咖啡门店数量全国第一，社区咖啡需求稳定，小店模式房租压力小。",
        "同业竞争激烈；人工和房租成本高；需要稳定的出品质量。",
        "1. 参加咖啡师培训；2. 选址并办理营业执照和食品经营许可证；3. 装修并购置咖啡设备；"
        "4. 上线外卖平台；5. 开展会员运营。",
        _FOOD_BUSINESS,
        "上海市创业指导中心 创业导师 徐静",
    ),
    DemoProject(
        "shanghai-pet-grooming",
        SHANGHAI,
        "宠物美容店",
        "domestic_services",
        "80000.00",
        "200000.00",
        18,
        3,
        "开设宠物洗护、美容和寄养门店，提供上门接送，兼营宠物用品。",
        "城市养宠家庭增加，宠物服务消费持续增长。",
        "宠物受伤纠纷；洗护噪声和异味影响邻里；美容师需专业培训。",
        "1. 参加宠物美容师培训；2. 选址并办理营业执照；3. 购置洗护设备；"
        "4. 购买经营责任险；5. 开展线上预约。",
        _BUSINESS_LICENCE,
        "上海市创业指导中心 创业导师 徐静",
    ),
    DemoProject(
        "shanghai-elderly-meals",
        SHANGHAI,
        "社区长者食堂",
        "health",
        "200000.00",
        "500000.00",
        36,
        8,
        "承接街道社区长者食堂运营，为老年人提供堂食和送餐，同时对周边居民开放。",
        "上海老龄化程度高，长者食堂列入市政府实事项目，有建设和运营补贴。",
        "补贴政策调整风险；食品安全责任重；运营合同期限受街道招标影响。",
        "1. 参加街道招标；2. 办理营业执照和食品经营许可证；3. 招聘厨师和送餐员；"
        "4. 申请助餐补贴；5. 建立用餐登记和满意度回访。",
        "营业执照、食品经营许可证、从业人员健康证",
        "上海市养老服务行业协会 陆敏",
    ),
    DemoProject(
        "pudong-crossborder",
        "310115",
        "跨境电商代运营",
        "ecommerce",
        "80000.00",
        "200000.00",
        14,
        6,
        "为外贸工厂和品牌提供跨境电商店铺代运营：选品、Listing 优化、广告投放和海外仓对接。",
        "浦东外贸企业集中，转型跨境电商需求大，有跨境电商综试区政策支持。",
        "平台政策和汇率风险；客户回款周期长；人才竞争激烈。",
        "1. 注册公司；2. 组建运营团队；3. 入驻跨境电商园区；4. 签约首批客户；"
        "5. 建立数据分析和报告制度。",
        _BUSINESS_LICENCE,
        "浦东新区创业指导站 张磊",
    ),
    DemoProject(
        "yangpu-tech-studio",
        "310110",
        "小程序开发工作室",
        "technology",
        "30000.00",
        "100000.00",
        12,
        4,
        "为小微商户开发微信小程序、点餐和会员系统，按项目收费并提供年度维护。",
        "杨浦高校集中、技术人才多，小微商户数字化需求旺盛。",
        "项目制收入不稳定；需求变更多；需做好合同和知识产权约定。",
        "1. 组建前后端开发团队；2. 注册公司并入驻孵化器；3. 打磨标准化模板；"
        "4. 通过商会和平台获客；5. 建立维护服务包。",
        _BUSINESS_LICENCE,
        "杨浦区创业孵化基地 导师 钱程",
    ),
)


def _moment(day: date, rng: Random, now: datetime) -> datetime:
    """A working-hours moment of a China day, in UTC (never after `now`)."""
    local = datetime.combine(day, time(9 + int(rng.random() * 8), int(rng.random() * 60)))
    return min(local.replace(tzinfo=CHINA_TIME).astimezone(UTC), now)


def project_rows(
    rng: Random, *, as_of: date, now: datetime, first_id: int, curators: dict[str, int]
) -> list[dict[str, Any]]:
    """The demo projects as `library_project` rows with ids from `first_id` on.

    Published projects went out between three years and a month before `as_of`; a promoted
    province project is created after its origin was published. `curators` maps a region
    to the staff account that changed its projects' status (None where there is none).
    """
    ids = {project.key: first_id + index for index, project in enumerate(DEMO_PROJECTS)}
    origins = {project.promoted_from for project in DEMO_PROJECTS if project.promoted_from}
    published_on: dict[str, date] = {}
    rows = []
    for project in DEMO_PROJECTS:
        clean, errors = check_project(project.values())
        if clean is None:  # the catalogue is ours: a slip is a bug, not bad input
            raise ValueError(f"demo project {project.key} breaks the rules: {errors}")
        if project.promoted_from is not None:
            origin = published_on[project.promoted_from]
            created = origin + timedelta(days=triangular_int(rng, 90, 200, 400))
            created = max(min(created, as_of - timedelta(days=10)), origin + timedelta(days=1))
        elif project.key in origins:  # old enough to have proved itself before promotion
            created = as_of - timedelta(days=triangular_int(rng, 600, 850, 1100))
        else:
            created = as_of - timedelta(days=triangular_int(rng, 30, 700, 1100))
        is_province = project.region_code in PROVINCES
        level = ProjectLevel.PROVINCE if is_province else ProjectLevel.CITY
        created_at = _moment(created, rng, now)
        row = clean.as_row() | {
            "id": ids[project.key],
            "level": level.value,
            "region_code": project.region_code,
            "status": str(project.status),
            "promoted_from_id": ids[project.promoted_from] if project.promoted_from else None,
            "created_at": created_at,
            "updated_at": created_at,
            "published_at": None,
            "status_changed_at": None,
            "status_changed_by_id": None,
        }
        if project.status != ProjectStatus.DRAFT:
            published = min(created + timedelta(days=triangular_int(rng, 3, 10, 40)), as_of)
            published_on[project.key] = published
            published_at = max(_moment(published, rng, now), created_at)
            changed_at = published_at
            if project.status == ProjectStatus.RETIRED:
                retired = published + timedelta(days=triangular_int(rng, 120, 300, 500))
                changed_at = max(_moment(min(retired, as_of), rng, now), published_at)
            row |= {
                "published_at": published_at,
                "status_changed_at": changed_at,
                "status_changed_by_id": curators.get(project.region_code),
                "updated_at": changed_at,
            }
        rows.append(row)
    return rows


def write_library(
    rng: Random, *, as_of: date, showcase_founder_id: int | None = None
) -> dict[str, int]:
    """Add the demo projects and the founders' adoptions of the published ones; answer the
    counts. A library that holds projects already is left alone. Flushes, never commits."""
    if db.session.scalar(select(LibraryProject.id).limit(1)) is not None:
        return {"library_projects": 0, "library_adoptions": 0}
    now = utcnow()
    curators = dict(
        db.session.execute(
            select(User.region_code, User.id).where(User.role == Role.STAFF).order_by(User.id)
        ).all()
    )
    first_id = 1 + (db.session.scalar(select(func.max(LibraryProject.id))) or 0)
    rows = project_rows(rng, as_of=as_of, now=now, first_id=first_id, curators=curators)
    # A Core INSERT (not COPY): the Money and timestamp columns convert their own values.
    db.session.execute(insert(LibraryProject.__table__), rows)
    move_id_sequence_past(LibraryProject.__table__, rows[-1]["id"])
    adoptions = write_adoptions(
        rng, rows, as_of=as_of, now=now, showcase_founder_id=showcase_founder_id
    )
    return {"library_projects": len(rows), "library_adoptions": adoptions}


def _visible_projects(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, date]]]:
    """Region code -> (project id, publication day) of the published projects its founders
    see: the region's own and its province's."""
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())
    published = [
        (row["region_code"], row["id"], row["published_at"].astimezone(CHINA_TIME).date())
        for row in rows
        if row["status"] == ProjectStatus.PUBLISHED
    ]
    visible: dict[str, list[tuple[int, date]]] = {}
    for code, parent in parents.items():
        visible[code] = [
            (project_id, day) for owner, project_id, day in published if owner in (code, parent)
        ]
    return visible


def _founders(batch_size: int) -> Iterator[list[Any]]:
    """Founders (id, region, registration day) in id order, a batch per query."""
    last_id = 0
    while True:
        stmt = (
            select(Founder.id, Founder.region_code, Founder.registered_on)
            .where(Founder.id > last_id)
            .order_by(Founder.id)
            .limit(batch_size)
        )
        batch = db.session.execute(stmt).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1].id


def _showcase_adoption(
    rng: Random, founder: Any, choices: list[tuple[int, date]], as_of: date
) -> tuple[int, date]:
    """The demo founder picks a project published before she registered, in her first
    weeks (during her SYB course), so the shop she opens after the course can follow it."""
    ready = [choice for choice in choices if choice[1] <= founder.registered_on]
    project_id, published_on = pick(rng, ready) if ready else min(choices, key=lambda c: c[1])
    first = max(founder.registered_on, published_on)
    adopted_on = first + timedelta(days=triangular_int(rng, *SHOWCASE_ADOPTION_DAYS))
    return project_id, min(adopted_on, as_of)


def write_adoptions(
    rng: Random,
    projects: list[dict[str, Any]],
    *,
    as_of: date,
    now: datetime,
    showcase_founder_id: int | None = None,
) -> int:
    """About one founder in five adopts one published project visible in their region, on a
    day between registering (or the project's publication) and `as_of`; the showcase
    founder always adopts one, soon after registering (see `_showcase_adoption`). Answers
    how many adoptions were written."""
    visible = _visible_projects(projects)
    written = 0
    for founders in _founders(BATCH_SIZE):
        adoptions = []
        for founder in founders:
            choices = visible.get(founder.region_code) or []
            wanted = founder.id == showcase_founder_id or rng.random() < ADOPTION_SHARE
            if not choices or not wanted:
                continue
            if founder.id == showcase_founder_id:
                project_id, adopted_on = _showcase_adoption(rng, founder, choices, as_of)
            else:
                project_id, published_on = pick(rng, choices)
                first = max(founder.registered_on, published_on)
                last = min(as_of, first + timedelta(days=ADOPTION_WINDOW_DAYS))
                adopted_on = first + timedelta(days=int(rng.random() * ((last - first).days + 1)))
            adoptions.append(
                {
                    "project_id": project_id,
                    "founder_id": founder.id,
                    "adopted_on": adopted_on,
                    "adopted_by_id": None,
                    "created_at": now,
                }
            )
        insert_rows(LibraryAdoption.__table__, adoptions)
        written += len(adoptions)
    return written
