"""Operator commands: journaled in the store, applied by the one trading loop.

The API never changes a book itself. ``POST /api/commands`` checks the command, journals it
with its request id (``Store.add_request``: a retry with the same id is the same command) and
wakes the loop, which applies it at its next turn (``GridOrchestrator.apply_commands``) and
publishes ``CommandApplied``. With ``?wait=SECONDS`` the answer waits for that notice (not by
polling), up to the deadline.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridmaker.engine.commands import COMMANDS, STOPS
from gridmaker.engine.notices import CommandApplied, Notice
from gridmaker.ops.api.changes import ARGUMENTS, command_payload
from gridmaker.ops.api.reads import resolve_symbol, surface_of
from gridmaker.ops.api.views import command_json
from gridmaker.store.sqlite_store import CommandRecord, RequestConflict, Store

__all__ = ["CommandBody", "CommandWaiters", "router"]

router = APIRouter()

MAX_WAIT_S = 30.0
RETRY_WINDOW = 1000
"""How many recent commands a refused retry is looked up among (retries come soon after)."""


class CommandBody(BaseModel):
    """One operator command for one market (``symbol``) or every market (``"*"``)."""

    model_config = ConfigDict(extra="forbid")

    command: str = Field(description=f"one of {', '.join(COMMANDS)}")
    symbol: str = Field(min_length=1, description='a configured market, or "*" for all')
    reason: str = Field(default="", max_length=500)
    request_id: str = Field(
        min_length=1, max_length=64, description="a retry with the same id is the same command"
    )
    config: dict[str, Any] | None = Field(
        None, description="reconfigure: the market's section as in the YAML config"
    )
    allow_loss: bool | None = Field(
        None, description="reconfigure: allow sell prices that do not recover a lot's cost"
    )
    amount: str | None = Field(
        None, description="capital: quote to add (e.g. '100') or withdraw ('-100')"
    )
    limit: str | None = Field(
        None, description="stop_sell: how far under the last price the sale may go ('1%')"
    )

    @field_validator("command")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in COMMANDS:
            raise ValueError(f"command must be one of {', '.join(COMMANDS)}; was {value!r}")
        return value


class CommandWaiters:
    """Observer of ``CommandApplied``: wakes the requests waiting for that command id."""

    def __init__(self) -> None:
        self._waiting: defaultdict[int, list[asyncio.Future[None]]] = defaultdict(list)

    def observe(self, notice: Notice) -> None:
        if isinstance(notice, CommandApplied):
            for future in self._waiting.pop(notice.command_id, ()):
                if not future.done():
                    future.set_result(None)

    async def wait(self, command_id: int, timeout_s: float) -> None:
        """Until the loop applied ``command_id`` or ``timeout_s`` passed (no error either way).

        Register before any await: the caller checked the store just before, on this loop."""
        future = asyncio.get_running_loop().create_future()
        self._waiting[command_id].append(future)
        try:
            async with asyncio.timeout(timeout_s):  # not wait_for: it may swallow a cancel
                await future
        except TimeoutError:
            pass
        finally:
            left = [f for f in self._waiting.get(command_id, ()) if f is not future]
            if left:
                self._waiting[command_id] = left
            else:
                self._waiting.pop(command_id, None)


@router.post(
    "/api/commands",
    status_code=202,
    summary="Queue a command for the trading loop",
    responses={200: {"description": "already applied (a repeated request id, or ?wait)"}},
)
async def post_command(
    request: Request,
    body: CommandBody,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="seconds to wait")] = 0,
) -> JSONResponse:
    """202 pending once journaled; 200 with its status for a request id seen before (or once
    applied within ``wait``: ``refused`` and ``outcome`` say whether the loop refused it);
    422 for a malformed argument, 409 when the request id names another command or the book
    refuses the change (nothing journaled)."""
    surface = surface_of(request)
    symbol = body.symbol if body.symbol == "*" else resolve_symbol(surface, body.symbol)
    if body.command in STOPS and symbol != "*":
        raise HTTPException(
            status_code=422,
            detail=f'{body.command} stops every market at once: symbol must be "*"; '
            f"was {body.symbol!r}",
        )
    given = {
        name: getattr(body, name)
        for names in ARGUMENTS.values()
        for name in names
        if getattr(body, name) is not None
    }
    store = surface.store
    try:
        payload = command_payload(surface, body.command, symbol, given)
    except HTTPException as e:
        # A retry of a change already applied may be refused by the book it made (a
        # withdrawal again): it is the same command, answered as such.
        earlier = _earlier(store, body.request_id, symbol, body.command)
        if e.status_code != 409 or earlier is None:
            raise
        return JSONResponse(command_json(earlier), status_code=200)
    newest = store.recent_commands(1)
    try:
        command_id = store.add_request(symbol, body.command, body.reason, body.request_id, payload)
    except RequestConflict as e:
        raise HTTPException(status_code=409, detail=str(e)) from None
    repeated = bool(newest) and command_id <= newest[0].id
    record = store.command(command_id)
    assert record is not None
    if record.applied_at is None:
        surface.orchestrator.wake_commands()
        if wait > 0:
            await request.app.state.waiters.wait(command_id, wait)
            record = store.command(command_id)
            assert record is not None
    body_json = command_json(record)
    applied = record.applied_at is not None
    return JSONResponse(body_json, status_code=200 if repeated or applied else 202)


def _earlier(store: Store, request_id: str, symbol: str, command: str) -> CommandRecord | None:
    """The recent command journaled under ``request_id`` for this symbol and command."""
    for record in store.recent_commands(RETRY_WINDOW):
        if record.request_id == request_id:
            return record if (record.symbol, record.command) == (symbol, command) else None
    return None


@router.get("/api/commands/{command_id}", summary="One command and whether it was applied")
async def get_command(request: Request, command_id: int) -> JSONResponse:
    record = surface_of(request).store.command(command_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no command {command_id}")
    return JSONResponse(command_json(record))


@router.get("/api/commands", summary="Recent commands, newest first")
async def recent_commands(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> JSONResponse:
    records = surface_of(request).store.recent_commands(limit)
    return JSONResponse({"commands": [command_json(r) for r in records]})
