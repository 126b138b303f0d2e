"""Confirmed hours as an Excel file in the columns of the national volunteer system's hours import.

The columns (docs/service-hours.md) follow what the MCA's record rules require a service record to hold
(志愿服务记录与证明出具办法): who served (name, ID type, ID number), what and when (activity, content, start,
end, hours) and who recorded it. The headers are in Chinese whatever the user's language: the import reads
them by name. Only confirmed records are exported; the ID number column is filled only for users holding
`volunteers.view_sensitive_volunteer` (empty otherwise, so the layout stays the same). No cell starts a
formula (charity.admin_export.escape_xlsx_cell), and every export is audited.
"""

from __future__ import annotations

import io

from django.utils import timezone
from openpyxl import Workbook

from charity import crypto
from charity.admin_export import escape_xlsx_cell
from charity.services import Actor, record_export

from .models import ServiceRecord
from .services.hours import format_hours

SENSITIVE_PERMISSION = "volunteers.view_sensitive_volunteer"

COLUMNS = [
    "姓名",
    "证件类型",
    "证件号码",
    "志愿者编号",
    "活动名称",
    "服务内容",
    "服务开始时间",
    "服务结束时间",
    "服务时长（小时）",
    "记录组织",
    "服务地点",
    "确认日期",
]
ID_COLUMN = COLUMNS.index("证件号码")

# The national system's names for the ID types (its registration form).
ID_TYPE_NAMES = {
    "resident_id": "居民身份证",
    "hk_macao": "港澳居民来往内地通行证",
    "taiwan": "台湾居民来往大陆通行证",
    "passport": "护照",
    "foreign_permanent": "外国人永久居留身份证",
}


def may_see_id_numbers(user) -> bool:
    return user is not None and user.is_active and user.has_perm(SENSITIVE_PERMISSION)


def _moment(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def export_rows(queryset, *, with_id_numbers: bool):
    records = (
        queryset.filter(status=ServiceRecord.Status.CONFIRMED)
        .select_related("volunteer__person", "event", "organizer", "community")
        .order_by("started_at", "id")
    )
    for r in records.iterator(chunk_size=500):
        volunteer = r.volunteer
        yield [
            volunteer.person.name,
            ID_TYPE_NAMES.get(volunteer.id_type, volunteer.id_type),
            crypto.decrypt(volunteer.id_ciphertext) if with_id_numbers else "",
            volunteer.number,
            r.event.title if r.event_id else r.content,
            r.content,
            _moment(r.started_at),
            _moment(r.ended_at),
            float(format_hours(r.minutes)),
            r.organizer.name,
            r.community.name,
            f"{timezone.localtime(r.decided_at):%Y-%m-%d}" if r.decided_at else "",
        ]


def export_workbook(queryset, *, user, actor: Actor) -> bytes:
    """The .xlsx bytes of the confirmed records in `queryset` (already scoped by the caller); audited."""
    with_ids = may_see_id_numbers(user)
    book = Workbook()
    sheet = book.active
    sheet.title = "志愿服务时长"
    sheet.append(COLUMNS)
    count = 0
    for row in export_rows(queryset, with_id_numbers=with_ids):
        sheet.append([escape_xlsx_cell(cell) for cell in row])
        count += 1
    for column, width in zip("ABCDEFGHIJKL", (10, 12, 22, 16, 24, 30, 18, 18, 10, 24, 14, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    record_export(
        actor=actor,
        model=ServiceRecord,
        rows=count,
        fields=[c for i, c in enumerate(COLUMNS) if with_ids or i != ID_COLUMN],
        file_format="xlsx (national volunteer system)",
    )
    return out.getvalue()
