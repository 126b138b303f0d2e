"""Public portal page of a fund management committee: who decides, and by which rules. No contact details."""

from django.http import Http404
from django.shortcuts import render

from charity.public_pages import public_page
from charity.templatetags.money import format_fen

from .selectors import composition_issues, get_public_committee, members_by_category, prefetched_members


@public_page()
def committee(request, pk):
    found = get_public_committee(pk)
    if found is None:
        raise Http404
    members = prefetched_members(found)
    return render(
        request,
        "governance/committee.html",
        {
            "committee": found,
            "fund": found.fund,
            "groups": members_by_category(members),
            "voting_count": sum(1 for m in members if m.is_voting),
            "issues": composition_issues(found, members),
            "threshold": format_fen(found.high_amount_threshold_fen),
        },
    )
