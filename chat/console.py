"""The agent console: a page of the two-factor admin; the chats themselves run over /ws/agent/.

workspace.site hooks ``console_view`` in at /admin/chat/console/ through the
site's admin_view, so only a staff session verified with two factors reaches it. Like the
customer page, the script gets its strings as JSON (json_script), translated here.
"""

from django.conf import settings
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

CONSOLE_STRINGS = {
    "connecting": _("Connecting to the chat server…"),
    "reconnecting": _("Connection lost. Reconnecting…"),
    "sessionEnded": _("Your session has ended. Sign in again to take chats."),
    "signedOut": _("You were signed out. Sign in again to take chats."),
    "signIn": _("Sign in again"),
    "noWaiting": _("No customer is waiting."),
    "moreWaiting": _("+%(count)s more waiting"),
    "noChats": _("No chats yet. Go online and accept a waiting chat."),
    "pickChat": _("Choose a chat in the list, or accept a waiting one."),
    "accept": _("Accept"),
    "accepting": _("Accepting…"),
    "waitingFor": _("waiting %(time)s"),
    "anonymous": _("Visitor"),
    "customer": _("Customer"),
    "agent": _("Agent"),
    "system": _("System"),
    "note": _("Internal note"),
    "you": _("You"),
    "sending": _("Sending…"),
    "sent": _("Sent"),
    "failed": _("Not sent"),
    "customerTyping": _("The customer is typing…"),
    "newChat": _("New chat waiting: %(reference)s"),
    "newMessage": _("%(reference)s: new message from %(name)s"),
    "chatAssigned": _("Chat %(reference)s is now yours."),
    "closed": _("This chat is closed."),
    "closedList": pgettext_lazy("chat state", "closed"),
    "stateActive": pgettext_lazy("chat state", "in progress"),
    "chatLimit": _("Chats: %(held)s of at most %(max)s"),
    "transferred": _("This chat was transferred."),
    "left": _("This chat is no longer yours."),
    "confirmClose": _("Close this chat? The customer will be asked to rate it."),
    "confirmTransfer": _("Transfer this chat?"),
    "chooseTransfer": _("Choose an agent or a queue."),
    "openTicket": _("Open ticket %(reference)s"),
    "unread": _("%(count)s unread"),
    "error": _("Error: %(detail)s"),
    "rateLimited": _("Too many actions at once. Wait a moment."),
    "presence_online": _("Online"),
    "presence_away": _("Away"),
    "presence_offline": _("Offline"),
    "walletStatus": _("Wallet status"),
    "balance": _("Balance"),
    "failedTransactions": _("Recent failed transactions"),
    "noFailed": _("No failed transactions."),
    "identities": _("Contacts"),
    "noCustomer": _("No wallet or contact details known for this customer yet."),
    "contactGiven": _("Given in the chat: %(contact)s"),
    "customerRecord": _("Customer record"),
    "queue": _("Queue"),
    "lockReason": _("Lock reason"),
    "earlierTickets": _("Earlier tickets"),
    "removeChat": _("Remove from the list"),
    "verifiedByApp": _("Verified by the MY Wallet app"),
    "claimsToBe": _("Claims to be %(name)s (%(contact)s) - not verified"),
}


def console_view(request, *, site):
    config = {
        "socketPath": "/ws/agent/",
        "strings": CONSOLE_STRINGS,
        "waitingListed": settings.CHAT_WAITING_LISTED,
    }
    context = {**site.each_context(request), "title": _("Live chat"), "config": config}
    return TemplateResponse(request, "chat/console.html", context)
