def test_login_and_home(two_tenants, login):
    alpha, _beta = two_tenants
    b = login(alpha, "owner")
    resp = b.get("/t/alpha/")
    assert resp.status_code == 200
    assert "Chain ALPHA" in resp.get_data(as_text=True)
