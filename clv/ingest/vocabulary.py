"""Words that exports use, as data: order statuses in the languages shops run in, and event names.

Statuses are matched after ``norm_words`` (lower case, accents removed, punctuation as single spaces), so
"Paiement accepté", "wc-completed" and "Pending_Payment" are all found. A status that is in neither table is
counted as a purchase and listed in the validation report as unrecognised — never dropped in silence.
"""
from __future__ import annotations

from .fields import norm_words

__all__ = ["NOT_PURCHASE", "PURCHASE", "status_table", "EVENT_ALIASES", "RAILS_TIME_ZONES"]

_UNPAID = "not paid"
#: reason -> every spelling of a status that means the order is not (or no longer) a purchase
_NOT_PURCHASE_WORDS = {
    "cancelled": [
        "cancelled", "canceled", "cancel", "order cancelled", "voided", "void", "paypal canceled reversal",
        "annule", "annulee", "commande annulee", "storniert", "bestellung storniert", "abgebrochen", "cancelado",
        "cancelada", "annullato", "annullata", "geannuleerd", "anulowane", "cancelled by customer", "zruseno",
        "anulata", "makulerad", "dibatalkan", "huy", "canceled by customer", "order canceled"],
    "fully refunded": [
        "refunded", "fully refunded", "refund", "rembourse", "remboursee", "rembourse integralement", "erstattet",
        "zahlung erstattet", "ruckerstattet", "zuruckerstattet", "reembolsado", "reembolsada", "rimborsato",
        "rimborsata", "terugbetaald", "paypal reversed", "reversed", "charged back", "chargeback", "reembolso",
        "rimborso", "terugbetaling", "zwrot", "rambursata", "aterbetalning", "vraceni produktu", "hoan tra",
        "ruckbuchung", "dispute lost"],
    "payment failed": [
        "failed", "payment failed", "declined", "payment declined", "payment error", "erreur de paiement",
        "fehler bei der bezahlung", "zahlungsfehler", "fehlgeschlagen", "error en el pago", "fallido",
        "errore di pagamento", "mislukt", "fraud", "suspected fraud", "fraudulent", "denied", "betalingsfout",
        "blad platnosci", "blad platonsci", "erro de pagamento", "erro no pagamento", "chyba platby", "eroare de plata",
        "betalningsfel", "pembayaran eror", "loi thanh toan"],
    _UNPAID: [
        "pending", "pending payment", "awaiting payment", "awaiting check payment", "awaiting cheque payment",
        "awaiting bank wire payment", "awaiting cash on delivery validation", "awaiting cod validation",
        "awaiting paypal payment", "pending paypal", "payment review", "on hold", "onhold", "holded",
        "authorized", "authorised", "unpaid", "not paid", "expired", "incomplete", "uncaptured",
        "on backorder not paid", "manual verification required", "requires payment method",
        "en attente de paiement", "en attente du paiement", "en attente de paiement par cheque",
        "en attente de virement bancaire", "en attente de paiement paypal", "en attente de paiement a la livraison",
        "en attente de reapprovisionnement non paye", "non paye", "impaye",
        "zahlung ausstehend", "ausstehend", "warten auf zahlungseingang", "warten auf zahlungseingang von bank",
        "warten auf zahlungseingang von paypal", "unbezahlt", "in wartestellung",
        "pendiente", "pendiente de pago", "en espera", "in attesa di pagamento", "in attesa", "non pagato",
        "in afwachting van betaling", "onbetaald", "in de wacht",
        # PrestaShop 1.6's shipped languages (install-dev/langs/*/data/order_state.xml): awaiting cheque, bank wire,
        # PayPal and cash-on-delivery payment (the backorder names that are the same paid and unpaid are left out)
        "warten auf scheckzahlung", "pago mediante cheque pendiente", "in attesa di pagamento con assegno",
        "in afwachting van betaling per cheque", "oczekiwanie platnosci czekiem", "a aguardar pagamento por cheque",
        "aguardando o pagamento por cheque", "en attente de paiement par virement bancaire",
        "pago por transferencia bancaria pendiente", "in attesa di pagamento con bonifico bancario",
        "in afwachting van bankoverschrijving", "oczekiwanie na platnosc przelewem bankowym",
        "a aguardar tranferencia bancaria", "a aguardar transferencia bancaria",
        "aguardando a transferencia do pagamento pelo banco", "pago mediante paypal pendiente",
        "in attesa di pagamento con paypal", "in afwachting van betaling via paypal", "oczekiwanie na platnosc paypal",
        "a aguardar pagamento por paypal", "aguardando o pagamento pelo paypal", "in attesa verifica contrassegno",
        "awaiting cash on delivery validation", "ceka se na platbu sekem", "in asteptarea platii cu cec",
        "in asteptarea platii prin transfer bancar", "in asteptarea platii prin paypal", "vantar pa checkbetalning",
        "vantar pa betalning via bankoverforing", "vantar pa paypal betalning", "vantar pa postforskott validering",
        "menunggu cek pembayaran", "menunggu pembayaran via transfer bank", "menunggu pembayaran melalui paypal",
        "cho thanh toan bang sec", "dang cho ngan hang thanh toan", "restorder ej betald", "sem stock",
        # billing platforms: an invoice issued and not (yet) paid
        "past due", "payment due", "unconfirmed", "reminded", "awaiting authorization"],
    "draft or deleted": ["draft", "checkout draft", "trash", "deleted", "abandoned"],
}
#: statuses known to be paid orders (only to tell them apart from unrecognised words in the report)
PURCHASE = frozenset(norm_words(w) for w in [
    "paid", "completed", "complete", "processing", "shipped", "delivered", "partially refunded",
    "partially paid", "partially shipped", "awaiting fulfillment", "awaiting shipment", "awaiting pickup",
    "fulfilled", "unfulfilled", "partially fulfilled", "succeeded", "success", "successful", "captured",
    "settled", "closed", "archived", "open", "disputed", "payment accepted", "remote payment accepted",
    "processing in progress", "on backorder paid", "paiement accepte", "paiement a distance accepte",
    "en cours de preparation", "expedie", "livre", "en attente de reapprovisionnement paye", "paye", "termine",
    "zahlung eingegangen", "bestellung in bearbeitung", "bestellung versandt", "bestellung ausgeliefert",
    "zahlung ausserhalb von prestashop eingegangen", "artikel nicht auf lager bezahlt", "bezahlt",
    "abgeschlossen", "versandt", "geliefert", "in bearbeitung", "pagado", "pagada", "completado", "enviado",
    "entregado", "pagato", "completato", "spedito", "consegnato", "betaald", "voltooid", "verzonden",
    "geleverd", "in behandeling", "complete payment", "payment",
    # PrestaShop 1.6's shipped languages: payment accepted, in preparation, shipped, delivered, remote payment
    "pagamento accettato", "pago aceptado", "betaling aanvaard", "platnosc zaakceptowana", "pagamento aceite",
    "pagamento aceito", "preparacion en proceso", "preparazione in corso", "wordt momenteel voorbereid",
    "przygotowanie w toku", "preparacao em curso", "preparacao em andamento", "wyslane", "dostarczone", "entregue",
    "afgeleverd", "pago a distancia aceptado", "pagamento remoto accettato", "betaling op afstand aanvaard",
    "platnosc przyjeta", "pagamento remoto aceite", "pagamento a distancia aceito", "platba byla prijata",
    "probiha priprava", "odeslano", "dodano", "plata acceptata", "in procesare", "expediata", "livrata",
    "betalning godkand", "din bestallning forbereds", "skickad", "levererad", "restorder betald",
    "betalningsoverforingen godkand", "payment remotely accepted", "preparation in progress", "pembayaran diterima",
    "barang tengah disiapkan", "proses pengiriman", "barang telah diterima", "thanh toan duoc chap nhan",
    "chuan bi trong tien trinh", "da giao hang", "sem stock pagamento aceite", "plata de la distanta acceptata",
    "warten auf zahlungseingang bezahlt",
    # billing platforms and others: paid, collected, partly refunded, a cancellation reversed, a dispute won
    "collected", "processed", "in progress", "paid partially", "refunded partially", "partial refund",
    "partially refunded", "canceled reversal", "cancelled reversal", "dispute won", "teilweise bezahlt",
    "teilweise erstattet", "erledigt", "done"])

NOT_PURCHASE = {norm_words(w): reason for reason, words in _NOT_PURCHASE_WORDS.items() for w in words}
# WooCommerce writes its statuses with a "wc-" prefix
NOT_PURCHASE.update({f"wc {k}": v for k, v in list(NOT_PURCHASE.items())})


def status_table(overrides: dict | None = None) -> dict:
    """normalised status -> reason it is not a purchase (None: a purchase); a format's own words override."""
    table = {w: None for w in PURCHASE}
    table.update({f"wc {w}": None for w in PURCHASE})
    table.update(NOT_PURCHASE)
    table.update({norm_words(k): v for k, v in (overrides or {}).items()})
    return table


#: recognised event names (normalised: lower case, letters and digits only) -> canonical event type.
#: Includes Klaviyo's metric names ("Opened Email", "Placed Order"…) and GA4's recommended events.
EVENT_ALIASES = {
    "view": ("view", "pageview", "productview", "viewitem", "sessionstart", "session", "visit", "screenview",
             "viewproduct", "page", "viewedproduct", "activeonsite", "viewitemlist", "viewedpage", "userengagement",
             "firstvisit", "viewcart"),
    "add_to_cart": ("addtocart", "cartadd", "atc", "addedtocart", "additem", "addedtocartproduct"),
    "begin_checkout": ("begincheckout", "checkout", "checkoutstart", "checkoutstarted", "initiatecheckout",
                       "startedcheckout"),
    "purchase": ("purchase", "ordercompleted", "order", "transaction", "completedorder", "placedorder",
                 "orderedproduct", "fulfilledorder"),
    "email_open": ("emailopen", "emailopened", "open", "opened", "openedemail", "receivedemail"),
    "email_click": ("emailclick", "emailclicked", "click", "clicked", "clickedemail", "clickedsms",
                    "clickedtextmessage"),
    "support_ticket": ("supportticket", "ticket", "support", "ticketcreated", "complaint", "supportcontact"),
    "review": ("review", "productreview", "reviewsubmitted", "rating", "submittedreview"),
    "return": ("return", "returnrequest", "refundrequest", "returned", "refundrequested", "refundedorder"),
}

#: Rails-style zone names (Square's "Time Zone" column) -> IANA names; IANA names are accepted as they are
RAILS_TIME_ZONES = {
    "Pacific Time (US & Canada)": "America/Los_Angeles", "Mountain Time (US & Canada)": "America/Denver",
    "Central Time (US & Canada)": "America/Chicago", "Eastern Time (US & Canada)": "America/New_York",
    "Arizona": "America/Phoenix", "Alaska": "America/Anchorage", "Hawaii": "Pacific/Honolulu",
    "Atlantic Time (Canada)": "America/Halifax", "Newfoundland": "America/St_Johns",
    "London": "Europe/London", "Dublin": "Europe/Dublin", "Edinburgh": "Europe/London", "Lisbon": "Europe/Lisbon",
    "Paris": "Europe/Paris", "Madrid": "Europe/Madrid", "Berlin": "Europe/Berlin", "Amsterdam": "Europe/Amsterdam",
    "Brussels": "Europe/Brussels", "Rome": "Europe/Rome", "Vienna": "Europe/Vienna", "Stockholm": "Europe/Stockholm",
    "Copenhagen": "Europe/Copenhagen", "Warsaw": "Europe/Warsaw", "Tokyo": "Asia/Tokyo", "Sydney": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne", "Brisbane": "Australia/Brisbane", "Perth": "Australia/Perth",
    "Auckland": "Pacific/Auckland", "UTC": "UTC",
}
