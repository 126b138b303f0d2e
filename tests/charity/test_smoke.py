def test_home_page_lists_communities(client, guanbeigou):
    response = client.get("/")
    assert response.status_code == 200
    assert "官北沟社区" in response.content.decode()


def test_area_api_for_hub_key(hub_api, guanbeigou, dalong):
    response = hub_api.get("/api/v1/areas/")
    assert response.status_code == 200, response.content
    names = [a["name"] for a in response.json()["results"]]
    assert names == ["官北沟社区"]
