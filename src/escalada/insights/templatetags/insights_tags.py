from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    """`row|get_item:column.key` — a report cell by its column's key."""
    return mapping.get(key)
