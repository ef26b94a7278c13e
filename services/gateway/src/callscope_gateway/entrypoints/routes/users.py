"""Routes of `/api/v1/users`: an owner adds people to the organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, field_validator

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.domain.users import validate_email, validate_password, validate_user_role
from callscope_gateway.entrypoints.access_views import user_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import AUTH_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.schemas import User

UserManager = Annotated[Principal, Depends(allowed(Permission.MANAGE_USERS))]

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class NewUser(BaseModel):
    """A login (email, password of at least 12 characters) and one of the five roles."""

    model_config = ConfigDict(extra="forbid")

    email: str
    password: str
    role: str

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return validate_email(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return validate_password(value)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return validate_user_role(value).value


@router.post(
    "",
    status_code=201,
    response_model=User,
    responses=error_responses(*AUTH_ERRORS, "invalid_request", "email_taken"),
)
async def create_user(body: NewUser, principal: UserManager, context: Context) -> dict[str, Any]:
    """Creates a user in the owner's organisation; 409 when the email is taken."""
    user = await access_handlers.create_user(
        principal,
        email=body.email,
        password=body.password,
        role=Role(body.role),
        directory=context.directory,
    )
    return user_view(user)
