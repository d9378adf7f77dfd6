"""compose.yaml: the services, their health checks and order, and commands that exist."""

from __future__ import annotations

from typing import Any

import click
import pytest

from consulta.cli import main
from tests.ops.conftest import load_compose

CONSULTA_SERVICES = ("migrate", "web", "projector")


def consulta_services(compose: dict[str, Any]) -> list[str]:
    """Every service that runs a `consulta` command (later issues add theirs)."""
    return [
        name for name, service in compose["services"].items() if service.get("command", [""])[0] == "consulta"
    ]


def resolve(argv: list[str]) -> click.Context:
    """Parse argv as the `consulta` command would, without running it (unknown commands or options raise)."""
    assert argv[0] == "consulta"
    ctx = main.make_context("consulta", list(argv[1:]))
    args = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else list(ctx.args)
    command: click.Command = main
    while isinstance(command, click.Group):
        name, sub, args = command.resolve_command(ctx, args)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, args, parent=ctx)
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        command = sub
    assert not args, f"unexpected arguments {args}"
    return ctx


def test_every_service_the_deployment_needs_is_there(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", *CONSULTA_SERVICES} <= set(compose["services"])


@pytest.mark.parametrize("name", CONSULTA_SERVICES)
def test_consulta_services_run_a_real_consulta_command(compose: dict[str, Any], name: str) -> None:
    ctx = resolve(compose["services"][name]["command"])
    assert ctx.command.name == {"migrate": "migrate", "web": "serve", "projector": "project"}[name]


def test_every_consulta_service_runs_a_real_command_from_the_one_image(compose: dict[str, Any]) -> None:
    names = consulta_services(compose)
    assert set(CONSULTA_SERVICES) <= set(names)
    for name in names:
        resolve(compose["services"][name]["command"])
        assert compose["services"][name].get("image") == compose["services"]["web"]["image"], name
        assert compose["services"][name].get("build") == ".", name


def test_an_unknown_command_or_option_is_caught_by_the_check() -> None:
    with pytest.raises(click.UsageError):
        resolve(["consulta", "serve", "--colour", "blue"])
    with pytest.raises(click.UsageError):
        resolve(["consulta", "fly"])


def test_web_listens_on_all_interfaces_of_its_container_on_the_published_port(
    compose: dict[str, Any],
) -> None:
    web = compose["services"]["web"]
    ctx = resolve(web["command"])
    assert ctx.params["host"] == "0.0.0.0"
    assert any(str(p).endswith(f":{ctx.params['port']}") for p in web["ports"])


def test_one_image_built_from_the_repository_serves_every_consulta_process(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {services[n].get("image") for n in CONSULTA_SERVICES}
    assert len(images) == 1
    assert all(services[n].get("build") == "." for n in CONSULTA_SERVICES)


def test_postgres_keeps_its_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["postgres"]["volumes"]
    named = [v.split(":")[0] for v in volumes if v.endswith(":/var/lib/postgresql/data")]
    assert named and named[0] in compose["volumes"]


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "projector"])
def test_long_running_services_have_health_checks(compose: dict[str, Any], name: str) -> None:
    test = compose["services"][name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1


def test_processes_start_in_order_once_their_dependencies_are_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "projector"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_the_secret_key_comes_from_the_environment_and_is_required() -> None:
    with pytest.raises(KeyError, match="CONSULTA_SECRET_KEY"):
        load_compose({})
    compose = load_compose({"CONSULTA_SECRET_KEY": "from-the-operator"})
    for name in CONSULTA_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["CONSULTA_SECRET_KEY"] == "from-the-operator"
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["REDIS_URL"].startswith("redis://redis:")
