"""Permission checks for the plugins' own pages, on Datasette 0.65 and on 1.0.

Datasette 1.0a20 replaced `permission_allowed` and `ensure_permissions` with `allowed` and
`ensure_permission` over resource objects (datasette.resources). The plugins ask here, and
this module asks whichever the running Datasette has: one place to drop 0.65 from later.
"""

from __future__ import annotations


def _resource(database: str, table: str | None):
    from datasette.resources import DatabaseResource, TableResource  # 1.0 only

    return TableResource(database, table) if table else DatabaseResource(database)


async def may_view(datasette, actor, database: str, table: str | None = None) -> bool:
    """Whether `actor` may view `database` (and its `table`, when given)."""
    action = "view-table" if table else "view-database"
    if hasattr(datasette, "allowed"):
        return await datasette.allowed(
            action=action, resource=_resource(database, table), actor=actor
        )
    resource = (database, table) if table else database
    return await datasette.permission_allowed(actor, action, resource, default=True)


async def ensure_may_view(datasette, actor, database: str, table: str | None = None) -> None:
    """datasette.Forbidden unless `actor` may view the instance, `database` and `table`."""
    if hasattr(datasette, "ensure_permission"):
        action = "view-table" if table else "view-database"
        await datasette.ensure_permission(
            action=action, resource=_resource(database, table), actor=actor
        )
        return
    checks: list = [("view-table", (database, table))] if table else []
    await datasette.ensure_permissions(
        actor, [*checks, ("view-database", database), "view-instance"]
    )
