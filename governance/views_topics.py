"""Portal pages of residents' topics (mobile-first, no JavaScript): a community's topics, raising one, and a
topic's page with its support button, the staff's answer, what it became, and its comments.

The lists and the topic page are public and cached for anonymous visitors (`public_page`); a logged-in
visitor gets the page rendered for them (the support button says "you support this"). Every write goes
through governance.topics, which decides who may act; a refusal is shown in the service's own words and
changes nothing. No resident is named anywhere on these pages: neither who raised, supported nor commented.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from charity.errors import DomainError, NotFoundError
from charity.models import Area, AuditEvent, Person
from charity.public_pages import local_to, public_page
from charity.services import Actor

from . import topics as services
from .forms_topics import CommentForm, RaiseTopicForm
from .models import Topic
from .selectors_topics import (
    get_public_topic,
    list_community_topics,
    merged_here,
    person_supports,
    public_comments,
)

TS = Topic.Status
PAGE_SIZE = 20


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _person(request) -> Person | None:
    if not request.user.is_authenticated:
        return None
    return Person.objects.filter(user=request.user).select_related("community").first()


def project_url(project) -> str:
    """The project's public page, once the projects' portal has one; else ""."""
    try:
        return reverse("governance:project", args=[project.pk])
    except NoReverseMatch:
        return ""


def _list(request, pk, order):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)  # its residents' topics and support
    page = Paginator(list_community_topics(area, order=order), PAGE_SIZE).get_page(request.GET.get("page"))
    person = _person(request)
    return render(
        request,
        "governance/topics/list.html",
        {
            "area": area,
            "page": page,
            "topics": list(page.object_list),
            "order": order,
            "resident_here": person is not None and person.community_id == area.pk,
        },
    )


@public_page(params=("page",))
def community_topics(request, pk):
    """A community's topics, the most supported first (open ones before the decided)."""
    return _list(request, pk, "support")


@public_page(params=("page",))
def community_topics_new(request, pk):
    """A community's topics, the newest first (open ones before the decided)."""
    return _list(request, pk, "new")


@never_cache
@login_required
def raise_topic(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    person = _person(request)
    form = RaiseTopicForm(request.POST or None)
    refusal, status = "", 200
    if person is None or person.community_id != area.pk:
        # Said in words instead of a form: a staff login, or a resident of elsewhere.
        refusal = (
            _("Only residents of %(community)s can raise topics here.") % {"community": area.name}
            if person is not None
            else _("Topics are raised by residents. Log in with your resident account.")
        )
        status = 403 if request.method == "POST" else 200
        form = None
    elif request.method == "POST" and form.is_valid():
        try:
            topic = services.raise_topic(community=area, actor=_actor(request), **form.cleaned_data)
        except DomainError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
            else:
                refusal = str(exc.message)
            status = exc.status
        else:
            messages.success(request, _("Your topic is up. Neighbours can now support it and comment."))
            return redirect("governance:topic", pk=topic.pk)
    return render(
        request,
        "governance/topics/raise.html",
        {"area": area, "form": form, "refusal": refusal, "person": person},
        status=status,
    )


def _render_topic(request, topic, *, comment_form=None, refusal="", status=200):
    person = _person(request)
    resident_here = person is not None and person.community_id == topic.community_id
    commentable = topic.status in services.COMMENTABLE
    if comment_form is None and resident_here and commentable:
        comment_form = CommentForm()
    return render(
        request,
        "governance/topics/topic.html",
        {
            "topic": topic,
            "community": topic.community,
            "comments": public_comments(topic),
            "merged_here": merged_here(topic),
            "person": person,
            "resident_here": resident_here,
            "is_raiser": resident_here and topic.raised_by_id == person.pk,
            "supported": resident_here and person_supports(topic, person),
            "commentable": commentable,
            "comment_form": comment_form,
            "project_url": project_url(topic.project) if topic.project_id else "",
            "refusal": refusal,
        },
        status=status,
    )


def _topic_or_404(pk) -> Topic:
    topic = get_public_topic(pk)
    if topic is None:
        raise Http404
    return topic


@public_page()
def topic_page(request, pk):
    topic = _topic_or_404(pk)
    local_to(request, topic.community_id)
    return _render_topic(request, topic)


def _act(request, pk, action, done: str):
    """Run a support/withdraw service for the logged-in resident; show a refusal on the topic's page."""
    topic = _topic_or_404(pk)
    try:
        action(topic=topic, actor=_actor(request))
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise Http404 from None
        return _render_topic(request, _topic_or_404(pk), refusal=str(exc.message), status=exc.status)
    messages.success(request, done)
    return redirect("governance:topic", pk=topic.pk)


@login_required
@require_POST
def support(request, pk):
    return _act(request, pk, services.support_topic, _("Thank you: you support this topic."))


@login_required
@require_POST
def withdraw(request, pk):
    return _act(request, pk, services.withdraw_support, _("You no longer support this topic."))


@login_required
@require_POST
def comment(request, pk):
    topic = _topic_or_404(pk)
    form = CommentForm(request.POST)
    if not form.is_valid():  # pragma: no cover — a free text field is always valid
        return _render_topic(request, topic, comment_form=form, status=400)
    try:
        services.comment_on_topic(topic=topic, text=form.cleaned_data["text"], actor=_actor(request))
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise Http404 from None
        topic = _topic_or_404(pk)
        if exc.field == "text":
            form.add_error("text", str(exc.message))
            return _render_topic(request, topic, comment_form=form, status=exc.status)
        return _render_topic(request, topic, comment_form=form, refusal=str(exc.message), status=exc.status)
    messages.success(request, _("Your comment is on the page."))
    return redirect(reverse("governance:topic", args=[topic.pk]) + "#comments")
