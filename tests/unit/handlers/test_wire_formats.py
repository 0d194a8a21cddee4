"""Content-Disposition for downloads: safe for every file name a client could have sent."""

from __future__ import annotations

import pytest

from handlers.wire.formats import content_disposition


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("lab.pdf", 'attachment; filename="lab.pdf"'),
        ('say "hi".pdf', 'attachment; filename="say _hi_.pdf"'),
        ("a\r\nSet-Cookie: x=1.pdf", 'attachment; filename="a__Set-Cookie: x=1.pdf"'),
        ("dir/sub\\file.txt", 'attachment; filename="dir_sub_file.txt"'),
        ("a;b.pdf", 'attachment; filename="a_b.pdf"'),
        ("", 'attachment; filename="attachment"'),
        (
            "résumé.pdf",
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        ),
        ("扫描.png", "attachment; filename=\"__.png\"; filename*=UTF-8''%E6%89%AB%E6%8F%8F.png"),
    ],
)
def test_content_disposition(name, header):
    assert content_disposition(name) == header
    assert "\r" not in header and "\n" not in header
