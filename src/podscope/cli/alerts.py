"""`podscope alerts add|list|show|remove|test|deliver|enable`: saved searches that report new matches as episodes
arrive, to a signed webhook and a feed."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.alert_records import ALERT_MODES, SavedSearch
from podscope.cli.shell import err, home_option, open_library, out, print_json


def _endpoint(alert: SavedSearch) -> str:
    if not alert.webhook_url:
        return "feed only"
    if alert.webhook_disabled:
        return f"{alert.webhook_url} (disabled: {alert.disabled_reason})"
    return alert.webhook_url


def _filters(alert: SavedSearch) -> str:
    said = [f"speaker {alert.speaker}" if alert.speaker else "", f"podcast {alert.podcast}" if alert.podcast else ""]
    return ", ".join(s for s in said if s) or "-"


@click.group("alerts")
def alerts() -> None:
    """Saved searches: every episode stored is searched for them, and each match is an event sent to the search's
    webhook (signed, Standard Webhooks) and listed in its feed (/alerts/ID/feed.xml)."""


@alerts.command("add")
@click.argument("query")
@click.option("--speaker", default=None, help="Only what this person says (or 'any' named person).")
@click.option("--podcast", default=None, help="Only episodes of this podcast.")
@click.option("--mode", type=click.Choice(ALERT_MODES), default="text", show_default=True, help="Words or meaning.")
@click.option("--webhook", default=None, metavar="URL", help="POST each match here, signed (Standard Webhooks).")
@click.option("--name", default=None, help="A name for the alert (default: the query).")
@click.option("--json", "as_json", is_flag=True, help="Print the alert and its webhook secret as JSON.")
@home_option
def alerts_add(
    query: str,
    speaker: str | None,
    podcast: str | None,
    mode: str,
    webhook: str | None,
    name: str | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Save a search; the webhook's signing secret (whsec_...) is printed this once."""
    with open_library(home) as lib:
        new = lib.alerts.add(query, speaker=speaker, podcast=podcast, mode=mode, webhook=webhook, name=name)
    if as_json:
        print_json({**asdict(new.alert), "secret": new.secret})
        return
    out.print(f"Alert {new.alert.id}: {escape(new.alert.query)} ({new.alert.mode}; {escape(_filters(new.alert))})")
    if new.secret:
        click.echo(new.secret)
        err.print("That is the webhook's signing secret, shown only now: the receiver checks signatures with it.")


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
@home_option
def alerts_list(as_json: bool, home: Path | None) -> None:
    """Every saved search with its filters and endpoint."""
    with open_library(home) as lib:
        rows = lib.alerts.saved()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print('No alerts. Add one with: podscope alerts add "QUERY" [--speaker NAME] [--webhook URL]')
        return
    table = Table("id", "name", "query", "mode", "filters", "endpoint")
    for a in rows:
        table.add_row(str(a.id), escape(a.name), escape(a.query), a.mode, escape(_filters(a)), escape(_endpoint(a)))
    out.print(table)


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the alert, its events and its delivery log as JSON.")
@home_option
def alerts_show(alert_id: int, as_json: bool, home: Path | None) -> None:
    """One alert: its latest events and the log of its webhook deliveries (each attempt, its answer or error)."""
    with open_library(home) as lib:
        alert = lib.alerts.get(alert_id)
        events = lib.alerts.events(alert_id)
        log = lib.alerts.deliveries(alert_id)
    if as_json:
        deliveries = [{**asdict(d), "log": [asdict(a) for a in attempts]} for d, attempts in log]
        print_json({"alert": alert, "events": events, "deliveries": deliveries})
        return
    out.print(f"Alert {alert.id}: {escape(alert.query)} ({alert.mode}; {escape(_filters(alert))})")
    out.print(f"Endpoint: {escape(_endpoint(alert))}")
    table = Table("event", "when", "why", "episode", "hits", "first hit")
    for e in events:
        hits = e.payload["data"]["hits"]
        first = f"{hits[0]['speaker']} @ {hits[0]['start']:.1f}s: {hits[0]['text'][:60]}" if hits else "-"
        table.add_row(str(e.id), e.created_at, e.reason, str(e.episode_id or "-"), str(e.hits), escape(first))
    out.print(table if events else "No events yet.")
    if log:
        log_table = Table("delivery", "event", "status", "attempts", "last error / delivered")
        for d, _attempts in log:
            said = d.delivered_at if d.status == "delivered" else d.last_error or "waiting"
            log_table.add_row(str(d.id), str(d.event_id), d.status, str(d.attempts), escape(said or ""))
        out.print(log_table)


@alerts.command("remove")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the removed alert as JSON.")
@home_option
def alerts_remove(alert_id: int, as_json: bool, home: Path | None) -> None:
    """Forget an alert with its events and deliveries."""
    with open_library(home) as lib:
        alert = lib.alerts.remove(alert_id)
    if as_json:
        print_json(alert)
        return
    out.print(f"Removed alert {alert.id} ({escape(alert.name)}).")


@alerts.command("test")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the test event and its delivery as JSON.")
@home_option
def alerts_test(alert_id: int, as_json: bool, home: Path | None) -> None:
    """Send the alert's latest matches in the library to its webhook now, as a test event (`alert.test`)."""
    with open_library(home) as lib:
        event = lib.alerts.test(alert_id)
        report = lib.alerts.deliver()
        log = lib.alerts.deliveries(alert_id, limit=1)
    if as_json:
        print_json({"event": event, "delivery": log[0][0] if log else None})
        return
    out.print(f"Test event {event.id} with {len(event.payload['data']['hits'])} hits.")
    if log:
        d = log[0][0]
        out.print(f"Delivery: {d.status}" + (f" ({escape(d.last_error)})" if d.last_error else ""))
    if report.failed:
        raise click.exceptions.Exit(1)


@alerts.command("deliver")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@home_option
def alerts_deliver(as_json: bool, home: Path | None) -> None:
    """Search what arrived since the last scan, then send the webhook deliveries that are due (for cron; `podscope
    serve` does this continually)."""
    with open_library(home) as lib:
        scan = lib.alerts.scan()
        report = lib.alerts.deliver()
        pending = lib.alerts.pending()
    if as_json:
        print_json({"scan": scan, "delivery": report, "pending": pending})
        return
    out.print(
        f"Searched {scan.episodes} episodes ({scan.events} new events); delivered {report.delivered}, failed"
        f" {report.failed} ({report.given_up} given up); {pending} waiting."
    )
    for alert_id in report.disabled:
        err.print(
            f"The webhook of alert {alert_id} is disabled after repeated failures: podscope alerts show {alert_id}"
        )


@alerts.command("enable")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the alert as JSON.")
@home_option
def alerts_enable(alert_id: int, as_json: bool, home: Path | None) -> None:
    """Deliver again to a webhook that was disabled after repeated failures."""
    with open_library(home) as lib:
        alert = lib.alerts.enable(alert_id)
    if as_json:
        print_json(alert)
        return
    out.print(f"Alert {alert.id}'s webhook is enabled: {escape(alert.webhook_url or 'no webhook')}")
