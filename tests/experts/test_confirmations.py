"""Expert-pool actions that cannot be undone say what will happen before they happen."""

from __future__ import annotations

import re
from io import BytesIO

from expertpool.core.idnumbers import check_digit


def _confirm_attribute(html: str) -> list[str]:
    return re.findall(r'data-confirm="([^"]*)"', html)


def test_life_cycle_actions_say_what_happens(client, auth, make_expert):
    expert = make_expert(name="赵六")
    auth.login()
    html = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    texts = _confirm_attribute(html)
    assert "确定暂停 赵六？恢复之前不会收到新的邀请。" in texts
    assert any(t.startswith("确定将 赵六 退库") for t in texts)
    applicant = make_expert(status="applicant", name="钱七")
    html = client.get(f"/experts/{applicant.id}").get_data(as_text=True)
    assert any(t.startswith("确定驳回 钱七 的申请") for t in _confirm_attribute(html))


def test_bulk_import_says_how_many_experts(client, auth, admin):
    rows = []
    for n in (1, 2):
        first17 = f"1101051975061200{n}"
        rows.append(
            f"导入{n},{first17 + check_digit(first17)},i{n}@example.cn,中国计量科学研究院,08"
        )
    data = ("姓名,身份证号,电子邮箱,工作单位,审评类别\n" + "\n".join(rows) + "\n").encode()
    auth.login()
    html = client.post(
        "/experts/import",
        data={"file": (BytesIO(data), "e.csv"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "将导入 2 位专家" in html
    assert any("将导入 2 位专家" in t for t in _confirm_attribute(html))
