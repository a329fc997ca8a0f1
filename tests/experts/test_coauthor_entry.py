"""Author lists and advisor/student relations through the expert's forms, file page and API."""

from __future__ import annotations

from expertpool.db import db


def test_publication_authors_and_relation_through_forms_page_and_api(client, auth, make_expert):
    expert = make_expert(name="欧阳建国")
    auth.login()
    client.post(
        f"/experts/{expert.id}/parts/publication",
        data={
            "title": "Cadmium in rice flour",
            "year": "2023",
            "language": "en",
            "authors": "OUYANG Jianguo; Xiao-Ming Qiu\nLi Hong",
        },
    )
    client.post(
        f"/experts/{expert.id}/parts/conflict",
        data={"kind": "person", "person_name": "Zhang W.", "relation": "advisor"},
    )
    client.post(
        f"/experts/{expert.id}/parts/conflict",
        data={"kind": "institution", "institution": "某公司", "relation": "student"},
    )
    db.session.refresh(expert)
    [paper] = expert.publications
    assert paper.authors == ["OUYANG Jianguo", "Xiao-Ming Qiu", "Li Hong"]
    relations = {(c.person_name, c.relation) for c in expert.conflicts}
    assert relations == {("Zhang W.", "advisor"), (None, None)}  # no relation to an institution
    page = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "OUYANG Jianguo; Xiao-Ming Qiu; Li Hong" in page
    one = client.get(f"/api/v1/experts/{expert.id}").get_json()
    assert one["publications"][0]["authors"] == paper.authors
    assert {c["relation"] for c in one["conflicts"]} == {"advisor", None}
