"""The "Done when" of two issues, end to end in the real `consulta dev` process a new user starts.

- Teleconsultation: a demo practitioner and a demo patient hold a video consultation from the invitation
  (e-mailed by the in-process notification worker to /dev/inbox) to its end, each in their own Chromium.
- Notifications: a demo patient books, moves and cancels in a browser; /dev/inbox shows each message once,
  in French, and no reminder for the cancelled appointment.

One `consulta dev` serves the module (tests/browser/dev_server.py). Every wait polls a condition with a
generous deadline: the suite runs beside other tests on a small machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from consulta import seed as demo
from tests.browser.dev_server import Dev, Message, fr_when, inbox, log_in, running_dev, wait_until
from tests.tele.test_browser import CHROMIUM, FLAGS, IN_CI, video_received

SLOW = 60_000  # ms: a page step on a loaded 2-core machine
MOREAU, BRUNO = demo.PRACTITIONERS[2], demo.PATIENTS[1]  # seeded with a video appointment between them
MARTIN, ALICE = demo.PRACTITIONERS[0], demo.PATIENTS[0]
PARIS = ZoneInfo("Europe/Paris")  # both practices' zone

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dev(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true needs /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium here")
    with running_dev(admin_url, tmp_path_factory.mktemp("consulta-dev")) as server:
        yield server


@pytest.fixture
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def browser(playwright: Any) -> Any:
    """A Chromium of its own (a person's own browser), French, with a fake camera."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)


def new_page(chromium: Any) -> Any:
    page = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris").new_page()
    page.set_default_timeout(SLOW)
    return page


def mail(origin: str, to: str, subject_start: str, seconds: float = 90) -> Message:
    def found() -> Message | None:
        return next((m for m in inbox(origin) if m.to == to and m.subject.startswith(subject_start)), None)

    return wait_until(found, seconds, f"{subject_start!r} to {to} in /dev/inbox")


def test_video_consultation_from_invitation_to_end(dev: Dev, playwright: Any) -> None:
    pro_browser, patient_browser = browser(playwright), browser(playwright)
    try:
        # The practitioner logs in (first login: the authenticator key is shown, its code typed).
        pro = new_page(pro_browser)
        assert log_in(pro, dev.origin, MOREAU["email"], demo.DEMO_PASSWORD), "staff set up a second factor"
        # Their agenda: the seeded video appointment with Bruno Garcia, a few days ahead.
        pro.goto(dev.origin + "/pro/agenda/week")
        for _ in range(4):
            if pro.get_by_role("link", name="Bruno Garcia").count():
                break
            with pro.expect_navigation():
                pro.get_by_role("link", name="Semaine suivante").click()
        pro.get_by_role("link", name="Bruno Garcia").first.click()
        pro.get_by_role("button", name="Ouvrir la téléconsultation et inviter le patient").click()
        code = pro.locator("#access-code").inner_text()
        assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code), code
        pro.goto(dev.origin + "/pro/tele")
        row = pro.locator('tr:has-text("Bruno Garcia")')
        row.and_(pro.locator('[data-status="scheduled"]')).wait_for()

        # The invitation reaches the dev inbox through the notification worker, not the request.
        invitation = mail(dev.origin, BRUNO["email"], "Votre téléconsultation avec Dr Inès Moreau")
        assert code in invitation.body and "112" in invitation.body
        link = re.search(r"(\S+/tele/invite/\S+)", invitation.body)
        assert link and link[1].startswith(dev.origin + "/tele/invite/"), invitation.body

        patient = new_page(patient_browser)
        patient.goto(link[1])
        patient.get_by_role("button", name="Continuer").click()
        patient.get_by_label("Prénom").fill("Bruno")
        patient.get_by_label("Nom", exact=True).fill("Garcia")
        patient.get_by_label("Date de naissance").fill(BRUNO["birth"].isoformat())
        patient.get_by_role("button", name="Continuer").click()
        patient.get_by_label("J'accepte une consultation par vidéo.").check()
        patient.get_by_role("button", name="Aller en salle d'attente").click()
        patient.wait_for_url(re.compile(r"/tele/waiting$"))

        # The same link, opened again (another browser), says it was used and leads nowhere.
        again = new_page(patient_browser)
        again.goto(link[1])
        with again.expect_response(re.compile(r"/use$")) as used:
            again.get_by_role("button", name="Continuer").click()
        assert used.value.status == 410
        assert "Ce lien d'invitation a déjà servi" in again.content()
        assert again.locator("main form").count() == 0
        for step in ("/tele/identity", "/tele/waiting"):  # this browser was let in nowhere
            assert again.goto(dev.origin + step).status == 404
        again.context.close()

        # The dashboard shows the patient waiting, live; the practitioner admits them.
        waiting = row.and_(pro.locator('[data-status="waiting"][data-connection="here"]'))
        waiting.wait_for()
        waiting.get_by_role("button", name="Faire entrer").click()
        pro.wait_for_url(re.compile(r"/pro/tele/[0-9a-f-]+/call$"))
        consultation_id = pro.url.split("/")[-2]
        patient.wait_for_url(re.compile(r"/tele/call$"))
        for side in (patient, pro):
            stats = video_received(side, seconds=90)
            assert stats["dtls"] == "connected" and stats["frames"] > 10, (side.url, stats)

        # The practitioner ends it (honoured); the patient's page follows.
        pro.get_by_role("button", name="Terminer : consultation effectuée").click()
        pro.wait_for_url(re.compile(r"/pro/tele$"))
        patient.wait_for_url(re.compile(r"/tele/ended$"))
        with psycopg.connect(dev.database_url) as conn:
            outcome = conn.execute(
                "SELECT outcome FROM read.waiting_room WHERE consultation_id = %s", (consultation_id,)
            ).fetchone()
        assert outcome == ("honoured",)
    finally:
        pro_browser.close()
        patient_browser.close()


def pick_slot(page: Any, earliest: date, avoid: datetime | None = None) -> datetime:
    """Click the first practice slot on `earliest` or later (another day than `avoid`'s if it can); its start."""
    for _ in range(3):
        page.locator("button.slot").first.wait_for()
        values = page.locator("button.slot").evaluate_all("(bs) => bs.map(b => b.value)")
        starts = [datetime.fromisoformat(v.split("|")[1]) for v in values if v.startswith("practice|")]
        fitting = [s for s in starts if s.astimezone(PARIS).date() >= earliest and s != avoid]
        other_day = [
            s
            for s in fitting
            if avoid is None or s.astimezone(PARIS).date() != avoid.astimezone(PARIS).date()
        ]
        if other_day or fitting:
            chosen = (other_day or fitting)[0]
            page.locator(f'button.slot[value="practice|{chosen.isoformat()}"]').click()
            return chosen
        with page.expect_navigation():
            page.get_by_role("link", name="Semaine suivante").click()
    raise AssertionError(f"no free practice slot from {earliest} on {page.url}")


def test_booking_moving_and_cancelling_leave_the_right_messages(dev: Dev, playwright: Any) -> None:
    # Four days ahead or more: past the cancellation cut-off, and another day than the seeded booking's.
    earliest = datetime.now(PARIS).date() + timedelta(days=4)
    chromium = browser(playwright)
    try:
        page = new_page(chromium)
        assert log_in(page, dev.origin, ALICE["email"], demo.DEMO_PASSWORD) is None  # no second factor
        page.goto(dev.origin + "/")
        page.get_by_label("Nom, spécialité ou ville").fill("Martin")
        page.get_by_role("button", name="Rechercher").click()
        page.get_by_role("link", name=MARTIN["name"], exact=True).click()
        page.locator("section.motif", has_text="Consultation").first.get_by_role(
            "link", name="Plus de dates"
        ).click()
        booked_at = pick_slot(page, earliest)
        page.get_by_role("button", name="Confirmer le rendez-vous").click()
        page.wait_for_url(re.compile(r"/my/appointments/[0-9a-f-]+/booked$"))
        appointment_id = page.url.split("/")[-2]
        first, patient, practice = fr_when(booked_at), ALICE["email"], MARTIN["email"]
        confirmed = mail(dev.origin, patient, f"Rendez-vous confirmé : Dr Claire Martin, le {first}")
        assert f"/my/appointments/{appointment_id}/booked" in confirmed.body
        assert "Bonjour Alice Durand" in confirmed.body and "[rendez-vous.ics]" in confirmed.body
        alert = mail(dev.origin, practice, f"Nouveau rendez-vous en ligne : {first}")
        assert "Alice Durand" in alert.body

        # Moved to another time.
        page.goto(dev.origin + "/my/appointments")
        page.locator(f'a[href="/my/appointments/{appointment_id}/reschedule"]').click()
        moved_to = pick_slot(page, earliest, avoid=booked_at)
        page.wait_for_url(re.compile(r"/my/appointments\?done=moved$"))
        second = fr_when(moved_to)
        moved = mail(dev.origin, patient, f"Rendez-vous déplacé : Dr Claire Martin, le {second}")
        assert f"/my/appointments/{appointment_id}/booked" in moved.body and "[rendez-vous.ics]" in moved.body
        mail(dev.origin, practice, f"Rendez-vous déplacé en ligne : {second}")

        # Cancelled.
        card = page.locator("li.appointment").filter(
            has=page.locator(f'a[href="/my/appointments/{appointment_id}/reschedule"]')
        )
        card.get_by_text("Annuler ce rendez-vous").click()
        card.get_by_role("button", name="Annuler le rendez-vous").click()
        page.wait_for_url(re.compile(r"/my/appointments\?done=cancelled$"))
        cancelled = mail(dev.origin, patient, f"Rendez-vous annulé : Dr Claire Martin, le {second}")
        mail(dev.origin, practice, f"Rendez-vous annulé en ligne : {second}")
    finally:
        chromium.close()

    # The reminders written for the booking and the move fall due now (the test cannot wait a day):
    # the worker re-reads the appointment and sends none of them.
    with psycopg.connect(dev.database_url, autocommit=True) as conn:
        reminders = conn.execute(
            "UPDATE read.notification_due SET due_at = now() WHERE kind = 'reminder' AND appointment_id = %s"
            " AND done_at IS NULL RETURNING key",
            (appointment_id,),
        ).fetchall()
        assert reminders, "booking four days ahead writes reminders"

        def settled() -> list[str] | None:
            rows = conn.execute(
                "SELECT outcome FROM read.notification_due WHERE kind = 'reminder' AND appointment_id = %s",
                (appointment_id,),
            ).fetchall()
            return [r[0] for r in rows] if all(r[0] for r in rows) else None

        outcomes = wait_until(settled, 90, "the brought-forward reminders to be handled")
    assert all(o.startswith("skipped") for o in outcomes), outcomes

    # Each message once, in French; nothing about this appointment after the cancellation is a reminder.
    messages = [m for m in inbox(dev.origin) if m.to in (patient, practice)]
    about = sorted((m.to, m.subject) for m in messages if first in m.subject or second in m.subject)
    assert about == sorted([
        (patient, f"Rendez-vous confirmé : Dr Claire Martin, le {first}"),
        (practice, f"Nouveau rendez-vous en ligne : {first}"),
        (patient, f"Rendez-vous déplacé : Dr Claire Martin, le {second}"),
        (practice, f"Rendez-vous déplacé en ligne : {second}"),
        (patient, f"Rendez-vous annulé : Dr Claire Martin, le {second}"),
        (practice, f"Rendez-vous annulé en ligne : {second}"),
    ]), about  # fmt: skip
    later = [m.subject for m in messages if m.to == patient and m.at > cancelled.at]
    assert not [s for s in later if s.startswith("Rappel")], later
