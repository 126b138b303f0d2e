from django.shortcuts import get_object_or_404, redirect

from charity.models import Area


def community_funds(request, pk):
    area = get_object_or_404(Area, pk=pk)
    return redirect("portal:community", pk=area.pk)
