"""Residents' topics (议题): a resident raises a subject for the community to take up — a dance team, a
reading corner, a garden — neighbours support it (once each) and comment, and staff moderate: they answer
it, merge it into another, or turn it into a service project whose first followers are its supporters
(docs/topics.md).

Who may act:
- a logged-in resident of the topic's community raises (on the portal), supports, withdraws their support
  and comments; a resident of another community is told, in words, that only residents of that community
  take part (the topics are public: nothing is hidden by refusing);
- staff of the community (STAFF role) raise topics for residents who asked on paper or at a meeting, hide
  comments and topics with a reason, answer, merge and turn topics into projects; an organisation's API key
  does none of this (the topics API reads only).
A hidden topic and a hidden comment are shown nowhere: acting on a hidden topic answers like a missing one.
Every change writes its audit event in the same transaction; residents who raised or support a topic are
told when it is answered, merged or made a project.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import Area, AuditAction, AuditEvent, NotificationKind, Person, StaffAssignment
from charity.notifications import TEXT_MAX, notify
from charity.services import Actor, RateLimitedError, record_audit, require_staff

from .models import COMMENT_MAX, TOPIC_TEXT_MAX, TOPIC_TITLE_MAX, Project, Topic, TopicComment, TopicSupport
from .projects import create_project
from .text_checks import check_text

TS = Topic.Status
# Statuses a staff decision may start from: an answered topic may still be merged or become a project.
DECIDABLE = (TS.OPEN, TS.ANSWERED)
# Statuses in which the discussion goes on.
COMMENTABLE = (TS.OPEN, TS.ANSWERED)


class TopicError(DomainError):
    code = "invalid_topic"


class TopicClosed(ConflictError):
    code = "topic_closed"


# --- who may act -------------------------------------------------------------------------------------------


def _resident(actor: Actor, community: Area) -> Person:
    """The logged-in resident acting, who must live in `community`. Raises ForbiddenError saying why not."""
    if actor.organization is not None:
        raise ForbiddenError(
            _("Residents raise, support and discuss topics: an organisation's API key cannot."),
            code="resident_only",
        )
    person = (
        Person.objects.select_related("community").filter(user=actor.user).first()
        if actor.user is not None
        else None
    )
    if person is None:
        raise ForbiddenError(_("Log in as a resident of the community first."), code="login_required")
    if person.community_id != community.pk:
        raise ForbiddenError(
            _("Only residents of %(community)s take part in its topics.") % {"community": community.name},
            code="other_community",
        )
    return person


def _person_of_community(person: Person | None, community: Area, *, field: str = "on_behalf_of") -> Person:
    """A resident staff name, who must live in `community`."""
    if person is None:
        raise TopicError(_("Choose the resident."), code="person_required", field=field)
    if person.community_id != community.pk:
        raise TopicError(
            _("%(person)s lives in another community.") % {"person": person.name},
            code="wrong_person",
            field=field,
        )
    return person


def _require_staff(actor: Actor, community: Area) -> None:
    """Staff of the community (or the system); a key is told it needs a member of staff."""
    if actor.organization is not None:
        raise ForbiddenError(_("An organisation's API key cannot do this: it needs a member of staff."))
    # Read afresh: an Area held in memory may carry a path the tree has since renumbered.
    require_staff(actor, Area.objects.get(pk=community.pk), StaffAssignment.Role.STAFF)


def _visible(topic: Topic) -> None:
    if topic.status == TS.HIDDEN:
        raise NotFoundError()


def _lock(topic: Topic) -> Topic:
    """The topic's row, locked for the rest of the transaction and read afresh."""
    return Topic.objects.select_for_update(of=("self",)).select_related("community").get(pk=topic.pk)


def _closed_message(topic: Topic) -> str:
    if topic.status == TS.ANSWERED:
        return _("This topic has been answered: it no longer takes support.")
    if topic.status == TS.MERGED and topic.merged_into_id:
        return _("This topic was merged into “%(other)s”: take part there.") % {
            "other": Topic.objects.only("title").get(pk=topic.merged_into_id).title
        }
    if topic.status == TS.PROJECT and topic.project_id:
        return _("This topic became the project “%(project)s”: follow it on the project's page.") % {
            "project": Project.objects.only("title").get(pk=topic.project_id).title
        }
    return _("This cannot be done while the topic is “%(status)s”.") % {"status": topic.get_status_display()}


def _require_status(topic: Topic, *allowed: str) -> None:
    _visible(topic)
    if topic.status not in allowed:
        raise TopicClosed(_closed_message(topic))


# --- text --------------------------------------------------------------------------------------------------

_IDENTIFIER_MESSAGES = {
    "mobile_in_public_text": _(
        "This looks like a mobile number. Topics are public: leave phone numbers out — staff can reach you "
        "through your account."
    ),
    "landline_in_public_text": _(
        "This looks like a telephone number. Topics are public: leave phone numbers out — staff can reach "
        "you through your account."
    ),
    "id_number_in_public_text": _(
        "This looks like an ID card number. Topics are public: never write one here."
    ),
}


def _check_text(value, *, field: str, max_length: int, required_message) -> str:
    """Cleaned public text, or TopicError naming `field`: empty, too long, or holding a phone or ID number."""
    return check_text(
        value,
        error=TopicError,
        field=field,
        max_length=max_length,
        required_message=required_message,
        public=True,
        identifier_messages=_IDENTIFIER_MESSAGES,
    )


def _check_reason(reason) -> str:
    return _check_text(
        reason,
        field="reason",
        max_length=COMMENT_MAX,
        required_message=_("Say why: the reason is kept on the record."),
    )


def _audit(actor: Actor, action: str, topic: Topic, summary: str = "", **data) -> None:
    record_audit(
        actor=actor,
        action=action,
        obj=topic,
        area=topic.community,
        summary=f"{topic.title}: {summary}" if summary else topic.title,
        data={"topic": topic.pk, "status": topic.status, **data},
    )


# --- telling residents --------------------------------------------------------------------------------------


def _followers(topic: Topic) -> list[Person]:
    """The raiser and the supporters of `topic`, each once, in the order they joined."""
    people = [topic.raised_by] if topic.raised_by_id else []
    people += [s.person for s in topic.supports.select_related("person").order_by("created_at", "id")]
    seen, unique = set(), []
    for person in people:
        if person.pk not in seen:
            seen.add(person.pk)
            unique.append(person)
    return unique


def _tell_followers(topic: Topic, text, *, actor: Actor, event: str, people=None) -> None:
    """Tell the raiser and supporters what became of the topic, once per event (the key)."""
    text = str(text)
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    url = reverse("governance:topic", args=[topic.pk])
    for person in people if people is not None else _followers(topic):
        notify(
            person=person,
            kind=NotificationKind.TOPIC_NEWS,
            text=text,
            url=url,
            actor=actor,
            key=f"topic-{topic.pk}-{event}",
        )


# --- residents ---------------------------------------------------------------------------------------------


def _check_new_topic(*, community: Area, title, description, category) -> tuple[str, str, str]:
    if community is None or community.level != Area.Level.COMMUNITY:
        raise TopicError(_("Choose a community."), code="community_required", field="community")
    title = _check_text(
        title, field="title", max_length=TOPIC_TITLE_MAX, required_message=_("Give the topic a short title.")
    )
    description = _check_text(
        description,
        field="description",
        max_length=TOPIC_TEXT_MAX,
        required_message=_("Say what you would like to happen, and why."),
    )
    if category not in Topic.Category.values:
        raise TopicError(_("Choose what the topic is about."), code="category_required", field="category")
    return title, description, category


def raise_topic(
    *,
    community: Area,
    title: str,
    description: str,
    category: str,
    actor: Actor,
    on_behalf_of: Person | None = None,
) -> Topic:
    """Raise a topic in `community`.

    On the portal (actor.surface == portal) the actor is a logged-in resident of the community, at most
    TOPICS_PER_DAY a day. On any other surface the actor is staff of the community, who may name the
    resident who raised it on paper or at a meeting (`on_behalf_of`, a resident of the community).
    Raises TopicError (community_required, title_required, description_required, too_long,
    *_in_public_text, category_required, wrong_person), ForbiddenError, NotFoundError, RateLimitedError.
    """
    title, description, category = _check_new_topic(
        community=community, title=title, description=description, category=category
    )
    staff_user = None
    if actor.surface == AuditEvent.Surface.PORTAL:
        person = _resident(actor, community)
        since = timezone.now() - datetime.timedelta(days=1)
        raised = Topic.objects.filter(
            raised_by=person, raised_by_staff__isnull=True, created_at__gte=since
        ).count()
        limit = settings.TOPICS_PER_DAY
        if raised >= limit:
            raise RateLimitedError(
                ngettext(
                    "You have raised %(n)d topic in the last day: raise the next one tomorrow.",
                    "You have raised %(n)d topics in the last day: raise the next one tomorrow.",
                    raised,
                )
                % {"n": raised},
                code="too_many_topics",
            )
    else:
        _require_staff(actor, community)
        person = _person_of_community(on_behalf_of, community) if on_behalf_of is not None else None
        staff_user = actor.user
    with transaction.atomic():
        topic = Topic.objects.create(
            community=community,
            title=title,
            description=description,
            category=category,
            raised_by=person,
            raised_by_staff=staff_user,
        )
        _audit(actor, AuditAction.TOPIC_RAISED, topic, category=category, by_staff=staff_user is not None)
    return topic


def support_topic(*, topic: Topic, actor: Actor) -> TopicSupport:
    """A resident of the topic's community supports an open topic, once.

    Raises ForbiddenError (login_required, other_community), NotFoundError (a hidden topic), TopicClosed
    (not open any more), ConflictError already_supported / own_topic.
    """
    person = _resident(actor, topic.community)
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, TS.OPEN)
        if topic.raised_by_id == person.pk:
            raise ConflictError(
                _("You raised this topic: ask your neighbours to support it."), code="own_topic"
            )
        already = ConflictError(_("You already support this topic."), code="already_supported")
        if TopicSupport.objects.filter(topic=topic, person=person).exists():
            raise already
        try:
            with transaction.atomic():
                support = TopicSupport.objects.create(topic=topic, person=person)
        except IntegrityError:  # the same resident's second tap, at the same moment
            raise already from None
        _audit(actor, AuditAction.TOPIC_SUPPORTED, topic, "supported")
    return support


def withdraw_support(*, topic: Topic, actor: Actor) -> None:
    """A resident withdraws their support of an open topic. Raises ConflictError not_supported,
    TopicClosed, NotFoundError, ForbiddenError."""
    person = _resident(actor, topic.community)
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, TS.OPEN)
        deleted, _rows = TopicSupport.objects.filter(topic=topic, person=person).delete()
        if not deleted:
            raise ConflictError(_("You do not support this topic."), code="not_supported")
        _audit(actor, AuditAction.TOPIC_SUPPORT_WITHDRAWN, topic, "support withdrawn")


def comment_on_topic(
    *, topic: Topic, text: str, actor: Actor, on_behalf_of: Person | None = None
) -> TopicComment:
    """Comment on an open or answered topic.

    On the portal the actor is a logged-in resident of the topic's community, at most
    TOPIC_COMMENTS_PER_HOUR an hour. On any other surface the actor is staff of the community entering what
    a resident (`on_behalf_of`) said at a residents' meeting. Raises TopicError (text_required, too_long,
    *_in_public_text, wrong_person), TopicClosed, NotFoundError, ForbiddenError, RateLimitedError.
    """
    if actor.surface == AuditEvent.Surface.PORTAL:
        person = _resident(actor, topic.community)
    else:
        _require_staff(actor, topic.community)
        person = _person_of_community(on_behalf_of, topic.community)
    text = _check_text(
        text, field="text", max_length=COMMENT_MAX, required_message=_("Write your comment first.")
    )
    if actor.surface == AuditEvent.Surface.PORTAL:
        since = timezone.now() - datetime.timedelta(hours=1)
        written = TopicComment.objects.filter(person=person, created_at__gte=since).count()
        if written >= settings.TOPIC_COMMENTS_PER_HOUR:
            raise RateLimitedError(
                _("You have written many comments in the last hour: please wait a while before the next."),
                code="too_many_comments",
            )
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, *COMMENTABLE)
        comment = TopicComment.objects.create(topic=topic, person=person, text=text)
        _audit(actor, AuditAction.TOPIC_COMMENTED, topic, "comment", comment=comment.pk)
    return comment


def record_supports(*, topic: Topic, people, actor: Actor) -> int:
    """Staff enter the residents who signed a paper sheet supporting an open topic (many older residents
    have no smartphone). Each person counts once: one who already supports it, or raised it, is skipped.
    Returns how many supports were added.

    Raises TopicError (people_required, wrong_person), TopicClosed, NotFoundError, ForbiddenError.
    """
    _require_staff(actor, topic.community)
    people = list({p.pk: p for p in people or ()}.values())
    if not people:
        raise TopicError(_("Choose the residents who signed."), code="people_required", field="people")
    for person in people:
        _person_of_community(person, topic.community, field="people")
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, TS.OPEN)
        taken = set(TopicSupport.objects.filter(topic=topic).values_list("person_id", flat=True))
        if topic.raised_by_id:
            taken.add(topic.raised_by_id)
        added = [TopicSupport(topic=topic, person=p) for p in people if p.pk not in taken]
        TopicSupport.objects.bulk_create(added)
        if added:
            _audit(
                actor,
                AuditAction.TOPIC_SUPPORTED,
                topic,
                "supports from a paper sheet",
                people=[s.person_id for s in added],
            )
    return len(added)


# --- staff moderation --------------------------------------------------------------------------------------


def hide_comment(*, comment: TopicComment, reason: str, actor: Actor) -> TopicComment:
    """Hide a comment from every page, with the reason on the record (never edited, never deleted).

    Raises TopicError reason_required / too_long, ConflictError already_hidden, NotFoundError,
    ForbiddenError.
    """
    community = comment.topic.community
    _require_staff(actor, community)
    reason = _check_reason(reason)
    with transaction.atomic():
        topic = _lock(comment.topic)
        now = timezone.now()
        updated = TopicComment.objects.filter(pk=comment.pk, hidden_at__isnull=True).update(
            hidden_at=now, hidden_reason=reason
        )
        if not updated:
            raise ConflictError(_("This comment is already hidden."), code="already_hidden")
        _audit(
            actor,
            AuditAction.TOPIC_COMMENT_HIDDEN,
            topic,
            "comment hidden",
            comment=comment.pk,
            reason=reason,
        )
    comment.hidden_at, comment.hidden_reason = now, reason
    return comment


def hide_topic(*, topic: Topic, reason: str, actor: Actor) -> Topic:
    """Hide a topic from every page and the API, with the reason on the record; its raiser is told why.

    A topic that became a project stays on the record. Raises TopicError reason_required / too_long,
    TopicClosed, NotFoundError (already hidden), ForbiddenError.
    """
    _require_staff(actor, topic.community)
    reason = _check_reason(reason)
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, TS.OPEN, TS.ANSWERED, TS.MERGED)
        was = topic.status
        topic.status, topic.moderation_note = TS.HIDDEN, reason
        topic.save(update_fields=["status", "moderation_note", "updated_at"])
        _audit(actor, AuditAction.TOPIC_HIDDEN, topic, "hidden", reason=reason, was=was)
        if topic.raised_by_id:
            text = str(
                _("Staff hid your topic “%(title)s”: %(reason)s") % {"title": topic.title, "reason": reason}
            )
            notify(
                person=topic.raised_by,
                kind=NotificationKind.TOPIC_NEWS,
                text=text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…",
                actor=actor,
                key=f"topic-{topic.pk}-hidden",
            )
    return topic


def answer_topic(*, topic: Topic, answer: str, actor: Actor) -> Topic:
    """Answer an open topic on the record (shown publicly on its page); its raiser and supporters are told.

    Raises TopicError answer_required / too_long / *_in_public_text, TopicClosed, NotFoundError,
    ForbiddenError.
    """
    _require_staff(actor, topic.community)
    answer = _check_text(
        answer,
        field="answer",
        max_length=TOPIC_TEXT_MAX,
        required_message=_("Write the answer residents will read."),
    )
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, TS.OPEN)
        topic.status, topic.answer, topic.answered_at = TS.ANSWERED, answer, timezone.now()
        topic.save(update_fields=["status", "answer", "answered_at", "updated_at"])
        _audit(actor, AuditAction.TOPIC_ANSWERED, topic, "answered")
        _tell_followers(
            topic,
            _("The topic “%(title)s” was answered: read the answer on its page.") % {"title": topic.title},
            actor=actor,
            event="answered",
        )
    return topic


def merge_topic(*, topic: Topic, into: Topic, actor: Actor) -> Topic:
    """Merge `topic` into another open topic of the same community: its raiser and supporters become the
    other's supporters (each once; the other's raiser is not counted twice), and are told.

    Raises TopicError (merge_into_itself, wrong_community), TopicClosed (either), NotFoundError,
    ForbiddenError.
    """
    _require_staff(actor, topic.community)
    if into is None:
        raise TopicError(_("Choose the topic to merge it into."), code="merge_target_required", field="into")
    if into.pk == topic.pk:
        raise TopicError(
            _("A topic cannot be merged into itself: choose another one."),
            code="merge_into_itself",
            field="into",
        )
    if into.community_id != topic.community_id:
        raise TopicError(_("Choose a topic of the same community."), code="wrong_community", field="into")
    with transaction.atomic():
        # Both rows locked in id order, so two merges of the same pair cannot deadlock.
        locked = {
            t.pk: t
            # Only the topic rows: PostgreSQL cannot lock the nullable side of the raiser's join.
            for t in Topic.objects.select_for_update(of=("self",))
            .select_related("community", "raised_by")
            .filter(pk__in=[topic.pk, into.pk])
            .order_by("pk")
        }
        topic, into = locked[topic.pk], locked[into.pk]
        _require_status(topic, *DECIDABLE)
        if into.status != TS.OPEN:
            raise TopicClosed(
                _("Choose a topic that is still open for support: “%(title)s” is “%(status)s”.")
                % {"title": into.title, "status": into.get_status_display()},
                field="into",
            )
        followers = _followers(topic)
        taken = set(TopicSupport.objects.filter(topic=into).values_list("person_id", flat=True))
        if into.raised_by_id:
            taken.add(into.raised_by_id)
        moved = [TopicSupport(topic=into, person=p) for p in followers if p.pk not in taken]
        TopicSupport.objects.bulk_create(moved)
        topic.status, topic.merged_into = TS.MERGED, into
        topic.save(update_fields=["status", "merged_into", "updated_at"])
        _audit(
            actor,
            AuditAction.TOPIC_MERGED,
            topic,
            f"merged into {into.title}",
            into=into.pk,
            supporters_moved=len(moved),
        )
        _tell_followers(
            topic,
            _("The topic “%(title)s” was merged into “%(other)s”: your support counts there.")
            % {"title": topic.title, "other": into.title},
            actor=actor,
            event="merged",
            people=followers,
        )
    return topic


def turn_into_project(*, topic: Topic, actor: Actor, **project_fields) -> Project:
    """Turn an open or answered topic into a service project of its community: the raiser and the supporters
    are the project's first followers, and are told. `project_fields` are those of
    governance.projects.create_project, without `community` (the topic's) and `followers`.

    Raises what create_project raises (nothing is changed then), TopicClosed, NotFoundError, ForbiddenError.
    """
    _require_staff(actor, topic.community)
    for name in ("community", "followers", "actor"):
        if name in project_fields:
            raise TypeError(f"turn_into_project takes no {name!r}: it comes from the topic")
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, *DECIDABLE)
        followers = _followers(topic)
        project = create_project(
            actor=actor, community=topic.community, followers=followers, **project_fields
        )
        _became_project(topic, project, followers, actor)
    return project


def _became_project(topic: Topic, project: Project, followers, actor: Actor) -> None:
    """Mark the locked topic as taken up by `project`, audit it and tell its followers."""
    topic.status, topic.project = TS.PROJECT, project
    topic.save(update_fields=["status", "project", "updated_at"])
    _audit(actor, AuditAction.TOPIC_BECAME_PROJECT, topic, project.title, project=project.pk)
    _tell_followers(
        topic,
        _("The topic “%(title)s” became the project “%(project)s”: you follow it.")
        % {"title": topic.title, "project": project.title},
        actor=actor,
        event="project",
        people=followers,
    )


def attach_to_project(*, topic: Topic, project: Project, actor: Actor) -> Topic:
    """Record that an open or answered topic is taken up by an existing project of its community: its raiser
    and supporters follow the project (each once), and are told.

    Raises TopicError wrong_project, TopicClosed, NotFoundError, ForbiddenError.
    """
    _require_staff(actor, topic.community)
    if project is None or project.community_id != topic.community_id:
        raise TopicError(_("Choose a project of the same community."), code="wrong_project", field="project")
    with transaction.atomic():
        topic = _lock(topic)
        _require_status(topic, *DECIDABLE)
        followers = _followers(topic)
        project.followers.add(*followers)
        _became_project(topic, project, followers, actor)
    return topic


__all__ = [
    "attach_to_project",
    "TopicClosed",
    "TopicError",
    "answer_topic",
    "comment_on_topic",
    "hide_comment",
    "hide_topic",
    "merge_topic",
    "raise_topic",
    "record_supports",
    "support_topic",
    "turn_into_project",
    "withdraw_support",
]
