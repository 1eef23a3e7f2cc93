"""Login and logout (session cookie + CSRF cookie), who am I, and the admin's tokens and users."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from flowradar.server.auth import CSRF_COOKIE, SESSION_COOKIE, AuthError, create_token, parse_session
from flowradar.server.context import Admin, Ctx, Viewer, get_principal
from flowradar.server.schemas import Credentials, Me, TokenCreated, TokenIn, TokenOut, UserIn, UserOut
from flowradar.server.security import csrf_for
from flowradar.store.base import StoreConflict

router = APIRouter(tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/login",
    response_model=Me,
    summary="Log in: sets the session cookie and the CSRF cookie",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credentials"}}},
        }
    },
    responses={
        401: {"description": "wrong or missing credentials"},
        429: {"description": "too many attempts"},
    },
)
async def login(request: Request, response: Response, ctx: Ctx) -> Me:
    """Check a user name and password; the answer's ``csrf_token`` goes in ``X-CSRF-Token`` later."""
    if not ctx.login_limiter.allow(_client(request)):
        raise HTTPException(
            429,
            "too many login attempts: wait a minute",
            {"Retry-After": str(ctx.login_limiter.retry_after())},
        )
    try:
        creds = Credentials.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        raise HTTPException(401, 'send JSON {"username": ..., "password": ...}') from None
    try:
        secret, _expires = await run_in_threadpool(ctx.auth.login, creds.username, creds.password)
    except AuthError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    secure = ctx.cfg.auth.cookie_secure or ctx.cfg.server.tls_cert is not None
    max_age = ctx.cfg.auth.session_ttl_s
    csrf = csrf_for(secret)
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=max_age, httponly=True, secure=secure, samesite="strict", path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict", path="/"
    )
    user = await run_in_threadpool(ctx.store.get_user, creds.username)
    return Me(name=creds.username, role=user.role if user else "viewer", via="session", csrf_token=csrf)


@router.post("/auth/logout", status_code=204, summary="Log out (ends the session)")
def logout(request: Request, response: Response, ctx: Ctx, _: Viewer) -> Response:
    """End this session everywhere; clear the cookies."""
    ctx.auth.logout(get_principal(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me, summary="Who am I")
def me(request: Request) -> Me:
    """The authenticated caller, whatever its role (and the CSRF token of a session)."""
    p = get_principal(request)
    return Me(name=p.name, role=p.role, via=p.via, csrf_token=csrf_for(p.session) if p.session else None)


def _token_out(t: object) -> TokenOut:
    return TokenOut.model_validate(t, from_attributes=True)


@router.get("/tokens", response_model=list[TokenOut], summary="API and ingest tokens (admin)")
def list_tokens(ctx: Ctx, _: Admin) -> list[TokenOut]:
    """Every API and ingest token, revoked ones included (sessions are not listed)."""
    return [_token_out(t) for t in ctx.store.list_tokens() if parse_session(t.name) is None]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create a token (admin)")
def new_token(ctx: Ctx, _: Admin, body: TokenIn) -> TokenCreated:
    """An API token (with a role) or an ingest token (with a host); the secret is shown this once."""
    try:
        secret, token_id = create_token(ctx.store, body.kind, body.name, body.role, body.host)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    token = next(t for t in ctx.store.list_tokens() if t.id == token_id)
    return TokenCreated.model_validate({**_token_out(token).model_dump(), "token": secret})


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token (admin)")
def revoke_token(ctx: Ctx, _: Admin, token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Revoke a token: requests with it are refused from now on (within a few seconds)."""
    if not ctx.store.revoke_token(token_id):
        raise HTTPException(404, f"no live token with id {token_id}")
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut], summary="Users (admin)")
def list_users(ctx: Ctx, _: Admin) -> list[UserOut]:
    """Every user and role."""
    return [UserOut(name=u.name, role=u.role, created=u.created) for u in ctx.store.list_users()]


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (admin)")
def create_user(ctx: Ctx, _: Admin, body: UserIn) -> UserOut:
    """Add a viewer or an admin."""
    try:
        ctx.auth.create_user(body.name, body.password, body.role)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreConflict:
        raise HTTPException(409, f"user '{body.name}' exists") from None
    user = ctx.store.get_user(body.name)
    assert user is not None
    return UserOut(name=user.name, role=user.role, created=user.created)
