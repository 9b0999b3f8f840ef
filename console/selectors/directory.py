"""Small lists the console's filters and forms offer."""

from accounts.models import Group, IdentityProvider

# A filter offers at most this many groups; beyond, the group's page links to its people.
GROUP_CHOICES_MAX = 500


def group_choices() -> list[tuple[int, str]]:
    return list(
        Group.objects.order_by("display_name", "pk").values_list("pk", "display_name")[
            :GROUP_CHOICES_MAX
        ]
    )


def provider_choices() -> list[tuple[int, str]]:
    return list(IdentityProvider.objects.order_by("name").values_list("pk", "name"))
