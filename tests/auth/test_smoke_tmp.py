def test_login_and_dashboard(client, login_as):
    login_as("admin", "460000")
    response = client.get("/")
    assert response.status_code == 200
    assert "Dashboard" in response.get_data(as_text=True) or "仪表" in response.get_data(
        as_text=True
    )


def test_api_token(api_as):
    api = api_as("admin", "460000")
    response = api.get("/api/v1/regions")
    assert response.status_code == 200
    assert len(response.get_json()) == 37
    response = api.get("/api/v1/users?per_page=5")
    assert response.status_code == 200, response.get_json()
