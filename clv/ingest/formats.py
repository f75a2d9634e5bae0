"""The format registry: each platform's order export as one declarative spec.

A spec says how to recognise the export (``signature``: groups of accepted header names, all required), which
column holds each canonical field (``columns``: accepted names per field, in preference), whether it writes one
row per order or per line item and whether the amount is an order total or a line amount, the order its dates
are written in, its own status words, values that mark a guest instead of a customer, and flag columns that
mark an order as not a purchase. Header names are compared after ``norm`` (letters and digits, lower case, no
accents), so "Created date (UTC)" is ``createddateutc``. Adding a platform is one entry here and one fixture in
tests/fixtures/ — nothing else branches on a format's name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError
from .fields import INTERACTION_FIELDS, ORDER_FIELDS, REQUIRED_ORDER_FIELDS, Mapping, is_email_column, norm

__all__ = ["FormatSpec", "FORMATS", "REFUSED", "GENERIC_COLUMNS", "INTERACTION_COLUMNS", "detect_format",
           "detect_interaction_mapping"]


@dataclass(frozen=True)
class FormatSpec:
    name: str
    label: str
    signature: tuple = ()               # groups of accepted (normalised) header names; every group must be present
    columns: dict = field(default_factory=dict)   # field -> accepted (normalised) names, in preference
    amount_per: str = "order"           # "order": an order total (counted once per order); "line": summed
    amount_times_quantity: bool = False  # the amount is a unit price
    line_items: bool = False            # one row per line item: rows are always grouped by order id
    date_order: str = "auto"            # "mdy" / "dmy" when the platform is known to write one order
    statuses: dict = field(default_factory=dict)  # the platform's own status words -> reason (None: a purchase)
    guest_ids: tuple = ()               # customer id values that mean "guest": the next customer column is used
    flags: tuple = ()                   # (normalised column, value, reason): a marked order is not a purchase
    returns_by_prefix: bool = False     # invoice ids starting with C are credit notes (UCI Online Retail)
    skips: tuple = ()                   # (normalised column, value, reason): a marked row is no sale at all
    amount_plus: tuple = ()             # normalised columns added to the amount: what the customer paid
    tax: tuple = ()                     # normalised columns of tax inside what the customer paid
    shipping: tuple = ()                # normalised columns of shipping inside what the customer paid
    shipping_discount: tuple = ()       # normalised columns of a shipping discount (given back from shipping)
    minor_units: bool = False           # amounts written in cents (divided by 100 when all are whole numbers)
    no_fill: tuple = ()                 # optional fields never filled from generic names (they would mislead)
    note: str = ""                      # said in the validation report whenever this format is read

    def mapping(self, columns: tuple[str, ...]) -> Mapping:
        cols = _guess(columns, self.columns, ORDER_FIELDS)
        if self.name != "generic":  # optional fields a known format lacks, by their generic names
            rest = tuple(c for c in columns if c not in cols.values())
            extra = _guess(rest, _KNOWN_FORMAT_GENERIC, [f for f in ORDER_FIELDS if cols.get(f) is None
                                                   and f not in REQUIRED_ORDER_FIELDS and f not in _NO_GENERIC_FILL
                                                   and f not in self.no_fill])
            cols.update({k: v for k, v in extra.items() if v})
        # an id as the customer key keeps the file's e-mail beside it (events keyed by e-mail join through it)
        if is_email_column(cols.get("customer_id")):
            cols["customer_email"] = None
        elif not cols.get("customer_email"):
            emails = tuple(n for n in GENERIC_COLUMNS["customer_id"] if is_email_column(n))
            cols["customer_email"] = _pick(columns, emails, set(cols.values()) - {cols.get("customer_alt")})
        by_norm = {norm(c): c for c in columns}
        flags = tuple((by_norm[col], value, reason) for col, value, reason in self.flags if col in by_norm)
        skips = tuple((by_norm[col], value, reason) for col, value, reason in self.skips if col in by_norm)
        present = lambda names: tuple(by_norm[n] for n in names if n in by_norm)  # noqa: E731
        return Mapping(self.name, cols, self.amount_per, self.amount_times_quantity, self.line_items,
                       flags=flags, guest_ids=self.guest_ids, skips=skips, amount_plus=present(self.amount_plus),
                       tax_columns=present(self.tax), shipping_columns=present(self.shipping),
                       shipping_discount_columns=present(self.shipping_discount),
                       minor_units=self.minor_units)


#: fields never filled from generic names for a known format (they change what a row means)
_NO_GENERIC_FILL = ("customer_alt", "order_time", "timezone", "customer_email")

GENERIC_COLUMNS = {
    # an id first, then an e-mail, then a name: two people with one name are never merged when the file says more
    # (German, French, Spanish, Italian and Dutch header words too)
    "customer_id": ("customerid", "clientid", "userid", "buyerid", "memberid", "customerno", "customernumber",
                    "accountcode", "kundennummer", "kundenid", "kundennr", "idclient", "numeroclient", "idcliente",
                    "numerocliente", "codicecliente", "klantnummer", "klantid",
                    "customeremail", "email", "billingemail", "billingemailaddress", "emailbilling", "clientemail",
                    "emailaddress", "useremail", "buyeremail", "accountemail", "kundenemail", "emailadresse",
                    "courriel", "adresseemail", "correo", "correoelectronico", "emailcliente", "emailadres",
                    "customer", "user", "client", "buyer", "kunde", "cliente", "klant", "customername"),
    "order_ts": ("orderdate", "orderts", "ordertime", "orderdatetime", "createdat", "purchasedate",
                 "invoicedate", "transactiondate", "date", "datetime", "timestamp", "time", "created", "saledate",
                 "billeddate", "billedat", "datum", "bestelldatum", "bestellzeit", "datedecommande", "datecommande",
                 "fecha", "fechadepedido", "fechapedido", "dataordine", "dataordinazione", "data", "besteldatum",
                 "orderdatum"),
    "amount": ("amount", "total", "ordertotal", "ordertotalamount", "net", "netamount", "revenue", "sales",
               "value", "ordervalue", "totalprice", "gross", "price", "sale", "totalamount", "dollarvalue",
               "invoicetotal", "betrag", "gesamtbetrag", "gesamtsumme", "gesamt", "summe", "rechnungsbetrag",
               "montant", "montanttotal", "totalttc", "importe", "importetotal", "totale", "importo",
               "importototale", "totaal", "totaalbedrag", "bedrag", "netsales"),
    "order_id": ("orderid", "ordernumber", "order", "orderno", "invoiceno", "invoice", "invoicenumber",
                 "transactionid", "receiptid", "name", "bestellnummer", "bestellid", "bestellnr", "commande",
                 "numerodecommande", "idcommande", "pedido", "numeropedido", "numerodepedido", "ordine",
                 "numeroordine", "bestelnummer", "ordernummer"),
    "discount": ("discount", "discountamount", "discounttotal", "cartdiscount", "cartdiscountamount",
                 "orderdiscount", "coupondiscount", "rabatt", "remise", "descuento", "sconto", "korting"),
    "refund": ("refund", "refundamount", "refundedamount", "orderrefund", "orderrefundamount", "refunded",
               "amountrefunded", "totalrefunded", "erstattet", "erstattung", "erstatteterbetrag", "rembourse",
               "remboursement", "montantrembourse", "reembolsado", "reembolso", "rimborsato", "rimborso",
               "terugbetaald", "terugbetaling"),
    "status": ("status", "orderstatus", "financialstatus", "paymentstatus", "bestellstatus", "zahlungsstatus",
               "statut", "etat", "estado", "stato", "statusbestelling"),
    "cancelled_at": ("cancelledat", "canceledat", "cancelled", "cancellationdate"),
    "currency": ("currency", "ordercurrency", "currencycode", "ordercurrencycode", "wahrung", "devise", "moneda",
                 "valuta"),
    "channel": ("channel", "saleschannel", "source", "orderchannel", "createdvia", "utmsource", "channelname"),
    "quantity": ("quantity", "qty", "items", "itemquantity", "lineitemquantity", "itemcount", "numberofcds",
                 "numberofitems", "totalquantity", "itemssold", "menge", "anzahl", "quantite", "cantidad",
                 "quantita", "aantal"),
    # the optional fields of the LTV cuts (clv/cuts.py): what was bought, with which code, shipped where
    "product": ("product", "productname", "producttitle", "itemname", "item", "lineitemname", "lineitemtitle",
                "itemtitle", "artikel", "artikelname", "produit", "producto"),
    "discount_code": ("discountcode", "couponcode", "coupon", "coupons", "couponcodes", "discountcodes", "promocode",
                      "promotioncode", "vouchercode", "voucher", "offercode", "couponused", "couponsused",
                      "gutscheincode", "codepromo"),
    "country": ("shippingcountry", "shipcountry", "shiptocountry", "deliverycountry", "countryshipping",
                "shippingcountrycode", "countrycodeshipping", "countrynameshipping", "country", "countrycode",
                "land", "pays", "pais"),
    # a refund row's link to the order it refunds: WooCommerce's Parent Order ID, PayPal's Reference Txn ID,
    # a credit note's original invoice
    "refund_of": ("parentorderid", "parentid", "parentorder", "parentordernumber", "referencetxnid",
                  "referencetransactionid", "originalorderid", "originalordernumber", "originalinvoicenumber",
                  "originalinvoiceid", "originalinvoice", "relatedorderid", "refundfor", "refundedorderid"),
    "amount_after_refunds": ("adjustedordertotal", "adjustedtotal", "totalafterrefunds"),
    # product costs (margin per order instead of one margin): a total cost, or a cost per unit × the quantity
    # (WooCommerce's Cost of Goods extension writes the order's total cost as "_wc_cog_order_total_cost"; its own
    # "Item Cost" is the item's price, so never a cost here)
    "cost": ("cost", "cogs", "costofgoods", "costofgoodssold", "totalcost", "ordercost", "ordertotalcost",
             "wccogordertotalcost", "metawccogordertotalcost", "linecost", "lineitemcost", "totalcogs",
             "wareneinsatz", "einkaufswert", "coutdesmarchandises", "costedelasmercancias", "costodelvenduto",
             "kostprijs"),
    "unit_cost": ("unitcost", "costperitem", "costperunit", "productcost", "costprice",
                  "wccogitemcost", "metawccogitemcost", "einkaufspreis", "einstandspreis", "prixdachat", "preciodecoste",
                  "costeunitario", "costounitario", "inkoopprijs"),
    "sku": ("sku", "lineitemsku", "itemsku", "productsku", "variantsku", "stockcode", "articlenumber",
            "artikelnummer", "artnr", "referenceproduit", "productcode", "itemcode"),
    "country_alt": ("billingcountry", "billcountry", "billtocountry", "countrybilling", "billingcountrycode",
                    "countrycodebilling", "countrynamebilling", "buyercountry", "customercountry"),
}

_SHOPIFY_LIKE = {"customer_id": ("email",), "order_ts": ("createdat",), "amount": ("total",),
                 "discount": ("discountamount",), "status": ("financialstatus",), "cancelled_at": ("cancelledat",),
                 "currency": ("currency",), "quantity": ("lineitemquantity",), "product": ("lineitemname",),
                 "discount_code": ("discountcode",), "country": ("shippingcountry",), "country_alt": ("billingcountry",)}

#: Square's transactions and item-sales exports share the customer, the split date/time/zone and the amount
_SQUARE = {"customer_id": ("customerid",), "customer_alt": ("customerreferenceid",), "order_ts": ("date",),
           "order_time": ("time",), "timezone": ("timezone",), "amount": ("netsales",), "order_id": ("transactionid",),
           "discount": ("discounts",)}

FORMATS: dict[str, FormatSpec] = {spec.name: spec for spec in [
    FormatSpec(
        "shopify", "Shopify orders export",
        signature=(("name",), ("email",), ("createdat",), ("total",), ("financialstatus",)),
        columns={**_SHOPIFY_LIKE, "order_id": ("name",), "refund": ("refundedamount",), "channel": ("source",)},
        tax=("taxes",), shipping=("shipping",), line_items=True, note="one row per line item; the order's fields are read from its first row"),
    FormatSpec(
        "squarespace", "Squarespace orders export",
        signature=(("orderid",), ("email",), ("financialstatus",), ("amountrefunded",), ("lineitemvariant",)),
        columns={**_SHOPIFY_LIKE, "order_id": ("orderid",), "refund": ("amountrefunded",), "channel": ("channel",)},
        tax=("taxes",), shipping=("shipping",), line_items=True, statuses={"canceled": "cancelled"}),
    FormatSpec(
        "woocommerce", "WooCommerce order export (Customer/Order CSV Export)",
        signature=(("orderid",), ("date",), ("status",), ("ordertotal",), ("billingemail",)),
        columns={"customer_id": ("billingemail",), "customer_alt": ("customerid", "customeruser"),
                 "order_ts": ("date",), "amount": ("ordertotal",), "order_id": ("orderid",),
                 "discount": ("discounttotal", "cartdiscount"), "refund": ("refundedtotal",), "status": ("status",),
                 "currency": ("ordercurrency",), "quantity": ("itemquantity",), "product": ("itemname",),
                 "discount_code": ("couponitems", "coupons", "couponcode"), "country": ("shippingcountry",),
                 "country_alt": ("billingcountry",)},
        # tax_total is the order's whole tax (WC_Order::get_total_tax: items, fees and shipping)
        tax=("taxtotal",), shipping=("shippingtotal",),
        line_items=True, guest_ids=("0",),
        note="order totals repeat on every item row of per-item exports: counted once per order"),
    FormatSpec(
        "woocommerce_legacy", "WooCommerce order export (legacy columns)",
        signature=(("orderid", "iddecommande"), ("orderstatus", "statutdecommande"),
                   ("ordertotal", "totaldecommande"), ("billingemail", "facturationemail")),
        columns={"customer_id": ("billingemail", "facturationemail"), "order_ts": ("date", "orderdate"),
                 "amount": ("ordertotal", "totaldecommande"), "order_id": ("orderid", "iddecommande"),
                 "discount": ("discounttotal",), "status": ("orderstatus", "statutdecommande"),
                 "quantity": ("itemamount",)},
        line_items=True),
    FormatSpec(
        "woocommerce_aoe", "WooCommerce order export (Advanced Order Export)",
        signature=(("ordernumber", "orderid"), ("orderstatus",), ("orderdate", "datecreated"),
                   ("emailbilling", "billingemail", "billingemailaddress", "customeremail"),
                   ("ordertotalamount", "ordertotal")),
        columns={"customer_id": ("emailbilling", "billingemailaddress", "billingemail", "customeremail"),
                 "customer_alt": ("customeruserid",), "order_ts": ("orderdate", "datecreated"),
                 "amount": ("ordertotalamount", "ordertotal"), "order_id": ("ordernumber", "orderid"),
                 "discount": ("cartdiscountamount", "cartdiscount", "orderdiscount", "discountamount"),
                 "refund": ("orderrefundamount", "orderrefund", "refundamount"), "status": ("orderstatus",),
                 "currency": ("ordercurrency", "currency"), "channel": ("createdvia",),
                 "quantity": ("quantity", "itemquantity", "qty"), "product": ("itemname", "productname"),
                 "discount_code": ("couponcode", "coupons", "couponcodes"),
                 "country": ("countrycodeshipping", "countrynameshipping", "shippingcountry"),
                 "country_alt": ("countrycodebilling", "countrynamebilling", "billingcountry")},
        tax=("ordertotaltaxamount",), shipping=("ordershippingamount",), line_items=True, guest_ids=("0",)),
    FormatSpec(
        "woocommerce_analytics", "WooCommerce Analytics orders download",
        signature=(("date",), ("order",), ("status",), ("customer",), ("customertype",), ("netsales", "nrevenue")),
        columns={"customer_id": ("customer",), "order_ts": ("date",), "amount": ("netsales", "nrevenue"),
                 "order_id": ("order",), "status": ("status",), "quantity": ("itemssold",),
                 "discount_code": ("coupons",)},  # "Product(s)" lists every item ("2× Mug, 1× Plate"): not mapped
        note="this download names customers only by their name (no email or id): two customers with one name "
             "are counted as one"),
    FormatSpec(
        "bigcommerce", "BigCommerce orders export",
        signature=(("orderid",), ("customerid",), ("customeremail",), ("orderdate",), ("orderstatus",),
                   ("ordertotalinctax",)),
        columns={"customer_id": ("customeremail", "billingemail"), "customer_alt": ("customerid",),
                 "order_ts": ("orderdate",), "order_time": ("ordertime",), "amount": ("ordertotalinctax",),
                 "order_id": ("orderid",), "refund": ("refundamount",), "status": ("orderstatus",),
                 "currency": ("ordercurrencycode",), "channel": ("channelname",), "quantity": ("totalquantity",),
                 "country": ("shippingcountry", "shipcountry"), "country_alt": ("billingcountry",)},
        # Tax Total holds every tax (shipping's too): shipping and handling are taken off without theirs
        tax=("taxtotal",), shipping=("shippingcostextax", "handlingcostextax"), guest_ids=("0",)),
    FormatSpec(
        "etsy_orders", "Etsy Sold Orders",
        signature=(("saledate",), ("orderid",), ("buyeruserid",), ("ordertotal",), ("ordervalue",)),
        columns={"customer_id": ("buyeruserid",), "customer_alt": ("buyer", "fullname"), "order_ts": ("saledate",),
                 "amount": ("ordertotal",), "order_id": ("orderid",), "discount": ("discountamount",),
                 "status": ("status",), "currency": ("currency",), "quantity": ("numberofitems",),
                 "discount_code": ("couponcode",), "country": ("shipcountry",)},
        tax=("salestax",), shipping=("shipping",), shipping_discount=("shippingdiscount",), date_order="mdy",
        note="guest checkouts have no Buyer User ID: they are matched by the buyer's name instead"),
    FormatSpec(
        "etsy_items", "Etsy Sold Order Items",
        signature=(("saledate",), ("itemname",), ("buyer",), ("itemtotal",), ("orderid",)),
        columns={"customer_id": ("buyer",), "order_ts": ("saledate",), "amount": ("itemtotal",),
                 "order_id": ("orderid",), "discount": ("discountamount",), "currency": ("currency",),
                 "quantity": ("quantity",), "product": ("itemname",), "discount_code": ("couponcode",),
                 "country": ("shipcountry",)},
        amount_per="line", line_items=True, date_order="mdy"),
    FormatSpec(
        "wix", "Wix Stores orders export",
        signature=(("order", "ordernumber"), ("paymentstatus",), ("fulfillmentstatus",),
                   ("contactemail", "buyersemail", "email")),
        columns={"customer_id": ("contactemail", "buyersemail", "email"), "order_ts": ("datecreated", "date"),
                 "order_time": ("time",), "amount": ("total",), "order_id": ("order", "ordernumber"),
                 "status": ("paymentstatus",), "currency": ("currency",), "quantity": ("qty", "quantity"),
                 "product": ("itemsname", "itemname"), "discount_code": ("couponcode", "coupon"),
                 "country": ("deliverycountry", "shippingcountry"), "country_alt": ("billingcountry",)},
        tax=("tax",), shipping=("shipping",), line_items=True),
    FormatSpec(
        "magento", "Magento / Adobe Commerce order grid",
        signature=(("id",), ("purchasedate",), ("grandtotalpurchased", "grandtotalbase"), ("status",)),
        columns={"customer_id": ("customeremail", "customername", "billtoname"), "order_ts": ("purchasedate",),
                 "amount": ("grandtotalpurchased", "grandtotalbase"), "order_id": ("id",),
                 "refund": ("totalrefunded",), "status": ("status",)},
        shipping=("shippingandhandling",),  # the grid shows no tax column: tax stays in (said in the report)
        statuses={"closed": "fully refunded", "canceled": "cancelled", "holded": "not paid",
                  "pending payment": "not paid", "payment review": "not paid"},
        note="the order grid exports only the columns shown in the admin grid: show 'Customer Email' before "
             "exporting, else customers are matched by name"),
    FormatSpec(
        "prestashop", "PrestaShop orders export",
        signature=(("id",), ("reference", "referenz"), ("customer", "client", "kunde"), ("total", "gesamt"),
                   ("status", "etat", "statut")),
        columns={"customer_id": ("customer", "client", "kunde"), "order_ts": ("date", "datum"),
                 "amount": ("total", "gesamt"), "order_id": ("reference", "referenz", "id"),
                 "status": ("status", "etat", "statut"),
                 "country": ("delivery", "livraison", "lieferung", "entrega")},  # the order list's delivery country
        note="PrestaShop's order list names customers as 'J. Doe' (no email or id): namesakes are counted as one "
             "customer"),
    FormatSpec(
        "stripe", "Stripe payments export",
        signature=(("id",), ("createddateutc", "createdutc"), ("amount",), ("amountrefunded",), ("status",)),
        columns={"customer_id": ("customeremail", "emailmetadata", "customeremailmetadata"),
                 "customer_alt": ("customerid",), "order_ts": ("createddateutc", "createdutc"),
                 "amount": ("amount",), "order_id": ("id",), "refund": ("amountrefunded",), "status": ("status",),
                 "currency": ("currency",)},
        tax=("tax",),
        # a lost dispute took the money back (the charge still says Paid); a won one keeps it
        flags=(("captured", "false", "not paid (not captured)"), ("disputestatus", "lost", "fully refunded"))),
    FormatSpec(
        "square_items", "Square item sales",
        signature=(("date",), ("time",), ("timezone",), ("item",), ("netsales",), ("transactionid",)),
        columns={**_SQUARE, "quantity": ("qty",), "channel": ("channel",), "product": ("item",)},
        amount_per="line", line_items=True,
        note="walk-in sales without a Customer ID cannot be attributed to a customer"),
    FormatSpec(
        "square", "Square transactions",
        signature=(("date",), ("time",), ("timezone",), ("netsales",), ("transactionid",), ("totalcollected",)),
        columns={**_SQUARE, "refund": ("partialrefunds",), "status": ("transactionstatus",),
                 "channel": ("source", "channel")},
        amount_per="line",  # a refund is a row of its own with the payment's transaction id: netted per order
        note="walk-in sales without a Customer ID cannot be attributed to a customer"),
    FormatSpec(
        "gumroad", "Gumroad sales export",
        signature=(("purchaseid",), ("purchaseemail",), ("purchasedate",), ("saleprice",)),
        columns={"customer_id": ("purchaseemail",), "customer_alt": ("buyeremail",),
                 "order_ts": ("purchasetimeutctimezone", "purchasedate"), "amount": ("saleprice",),
                 "order_id": ("ordernumber", "purchaseid"), "refund": ("partialrefund",),
                 "quantity": ("quantity",), "channel": ("referrer",), "product": ("itemname",),
                 "discount_code": ("discountcode", "offercode"), "country": ("country",)},
        amount_per="line", flags=(("fullyrefunded", "1", "fully refunded"),),
        note="Gumroad writes a 'Totals' row at the end: it has no customer and is left out"),
    FormatSpec(
        "online_retail", "Invoice lines (UCI Online Retail style)",
        signature=(("invoiceno", "invoice"), ("stockcode",), ("quantity",), ("invoicedate",),
                   ("unitprice", "price"), ("customerid",)),
        columns={"customer_id": ("customerid",), "order_ts": ("invoicedate",), "amount": ("unitprice", "price"),
                 "order_id": ("invoiceno", "invoice"), "quantity": ("quantity",), "product": ("description",),
                 "country": ("country",)},
        amount_per="line", amount_times_quantity=True, line_items=True, date_order="mdy", returns_by_prefix=True),
    # Sources of the specs below (headers, values) are said beside each fixture in tests/test_platforms.py
    FormatSpec(
        "paypal", "PayPal activity download",
        signature=(("transactionid",), ("referencetxnid",), ("gross",), ("fromemailaddress",), ("type",)),
        columns={"customer_id": ("fromemailaddress",), "customer_alt": ("name",), "order_ts": ("date",),
                 "order_time": ("time",), "amount": ("gross",), "order_id": ("transactionid",),
                 "refund_of": ("referencetxnid",), "status": ("status",), "currency": ("currency",),
                 "product": ("itemtitle",), "country": ("countrycode", "country"), "quantity": ("quantity",)},
        amount_per="order", date_order="mdy", tax=("salestax",), shipping=("shippingandhandlingamount",),
        statuses={"completed": None, "denied": "payment failed", "unverified": "not paid", "removed": "cancelled",
                  "created": "not paid", "active": "not paid", "processing": "not paid"},
        # rows that move money without a sale: withdrawals, transfers, conversions, holds
        skips=tuple(("type", t, f"PayPal '{t}' row") for t in (
            "general withdrawal", "general currency conversion", "user initiated withdrawal",
            "general credit card withdrawal", "general credit card deposit", "bank deposit to pp account",
            "general hold", "general hold release", "payment hold", "payment release", "account hold for open authorization",
            "reversal of general account hold", "hold on balance for dispute investigation",
            "cancellation of hold for dispute resolution", "general authorization", "void of authorization",
            "transfer to bank initiated", "transfer", "general payment")),
        note="the time of day is read in the zone of the TimeZone column (PST/PDT…); refunds are their own rows, "
             "netted into the payment named in 'Reference Txn ID'"),
    FormatSpec(
        "recurly", "Recurly invoices export",
        signature=(("invoicenumber",), ("accountcode",), ("invoicetotal",), ("billeddate",)),
        columns={"customer_id": ("accountcode",), "order_ts": ("billeddate",), "amount": ("invoicetotal",),
                 "order_id": ("invoicenumber",), "refund_of": ("originalinvoicenumber",), "status": ("status",),
                 "currency": ("currency",), "discount": ("invoicediscount",), "discount_code": ("couponcode",),
                 "country": ("shipaddresscountry", "accountcountry")},
        tax=("taxamount",),
        statuses={"processing": "not paid", "open": "not paid", "closed": None, "voided": "cancelled"},
        # a write-off clears an unpaid invoice: no money came in or went out
        skips=(("invoicetype", "write_off", "a write-off of an unpaid invoice"),
               ("invoicetype", "carryforward_credit", "a credit carried forward"),
               ("invoicetype", "carryforward_gift_credit", "a gift credit carried forward")),
        note="refunds are credit invoices netted into the invoice named in 'original_invoice_number'"),
    FormatSpec(
        "chargebee", "Chargebee invoices export",
        signature=(("invoicenumber",), ("customerid",), ("invoicedate",), ("amount",), ("refundedamount",)),
        columns={"customer_id": ("customerid",), "customer_alt": ("customeremail",), "order_ts": ("invoicedate",),
                 "amount": ("amount",), "order_id": ("invoicenumber",), "refund": ("refundedamount",),
                 "status": ("status",), "currency": ("currency", "currencycode")},
        tax=("taxtotal",), minor_units=True,
        statuses={"posted": "not paid", "payment due": "not paid", "voided": "cancelled"}),
    FormatSpec(
        "paddle", "Paddle Billing transactions export",
        signature=(("id",), ("status",), ("customeremail",), ("billedat",), ("total",), ("currencycode",)),
        columns={"customer_id": ("customeremail",), "customer_alt": ("customerid",), "order_ts": ("createdat",),
                 "amount": ("total",), "order_id": ("id",), "discount": ("discount",), "status": ("status",),
                 "currency": ("currencycode",), "country": ("addresscountrycode",)},
        tax=("tax",),
        statuses={"billed": "not paid", "ready": "not paid", "draft": "not paid", "paid": None, "completed": None},
        note="refunds live in Paddle's adjustments report, not in this one: upload the transactions alone and the "
             "refunded transactions count in full"),
    FormatSpec(
        "lemonsqueezy", "Lemon Squeezy orders export",
        signature=(("ordernumber",), ("useremail",), ("total",), ("refundedamount",), ("status",)),
        columns={"customer_id": ("useremail",), "customer_alt": ("customerid",), "order_ts": ("createdat",),
                 "amount": ("total",), "order_id": ("ordernumber", "identifier"), "refund": ("refundedamount",),
                 "discount": ("discounttotal",), "status": ("status",), "currency": ("currency",),
                 "product": ("productname",)},
        tax=("tax",), minor_units=True),
    FormatSpec(
        "shopware6", "Shopware 6 orders export (Default orders profile)",
        signature=(("ordernumber",), ("customeremail",), ("amounttotal",), ("orderstateid",), ("orderdatetime",)),
        columns={"customer_id": ("customeremail",), "order_ts": ("orderdatetime",), "amount": ("amounttotal",),
                 "order_id": ("ordernumber",), "status": ("orderstateid", "orderstate", "stateid"),
                 "country": ("shippingaddresscountryid",)},
        no_fill=("product", "country_alt"),
        note="Shopware writes each order's state as an id of the shop's own (not its name): say once on Your data "
             "which ids are cancelled orders"),
    FormatSpec(
        "opencart", "OpenCart orders (oc_order table)",
        signature=(("orderid",), ("orderstatusid",), ("total",), ("dateadded",), ("email",)),
        columns={"customer_id": ("email",), "customer_alt": ("customerid",), "order_ts": ("dateadded",),
                 "amount": ("total",), "order_id": ("orderid",), "status": ("orderstatusid",),
                 "country": ("shippingcountry",), "country_alt": ("paymentcountry",)},
        # 'total' is in the shop's default currency whatever the order's currency_code (currency_value is the rate)
        no_fill=("currency",),
        # OpenCart's default statuses by id (install/opencart.sql): 0 is an order abandoned before payment
        statuses={"0": "draft or deleted", "1": "not paid", "2": None, "3": None, "5": None, "7": "cancelled",
                  "8": "payment failed", "9": None, "10": "payment failed", "11": "fully refunded",
                  "12": "fully refunded", "13": "fully refunded", "14": "not paid", "15": None, "16": "cancelled"},
        note="statuses are OpenCart's default ids (2 processing, 3 shipped, 5 complete, 7 cancelled, 11 refunded…); "
             "a shop with statuses of its own says how they count on Your data"),
    FormatSpec(
        "amazon_shipments", "Amazon Fulfilled Shipments report",
        signature=(("amazonorderid",), ("buyeremail",), ("purchasedate",), ("itemprice",), ("shipmentid",)),
        columns={"customer_id": ("buyeremail",), "customer_alt": ("buyername",), "order_ts": ("purchasedate",),
                 "amount": ("itemprice",), "order_id": ("amazonorderid",), "currency": ("currency",),
                 "quantity": ("quantityshipped",), "product": ("productname",), "channel": ("saleschannel",),
                 "country": ("shipcountry",), "country_alt": ("billcountry",)},
        amount_per="line", line_items=True,
        amount_plus=("itemtax", "shippingprice", "shippingtax", "giftwrapprice", "giftwraptax",
                     "itempromotiondiscount", "shippromotiondiscount"),
        tax=("itemtax", "shippingtax", "giftwraptax"),
        shipping=("shippingprice", "giftwrapprice", "shippromotiondiscount"),
        note="buyers are Amazon's relay addresses (…@marketplace.amazon.com): one per buyer, stable over time"),
    FormatSpec("generic", "Generic orders file (mapped by column names)", columns=GENERIC_COLUMNS,
               amount_per="line"),
]}


@dataclass(frozen=True)
class _Refusal:
    signature: tuple
    message: str
    expected: str
    unless: tuple = ()   # column names (normalised) that make it an orders file after all


_CUSTOMER_LIKE = ("email", "customeremail", "customerid", "customer", "billingemail", "buyeremail", "buyer",
                  "clientid", "userid")
_ORDERS_SLOT = ("the orders export: in Shopify Orders > Export ('All orders'); in WooCommerce Orders > Export; in "
                "Stripe Payments > Export — one row per order or order line, with the customer and the date.")


#: the generic names a known platform's export is filled from: a bare "Cost" in a platform's export is as often the
#: item's price (WooCommerce calls the line price "Cost") as what the goods cost the shop, so only explicit cost names
_AMBIGUOUS_COST = ("cost", "linecost", "lineitemcost", "productcost", "totalcost", "ordercost")
_KNOWN_FORMAT_GENERIC = {f: tuple(n for n in names if f not in ("cost", "unit_cost") or n not in _AMBIGUOUS_COST)
                         for f, names in GENERIC_COLUMNS.items()}

#: exports that are not order logs, recognised so the user is told what they uploaded
REFUSED = [
    _Refusal((("totalspent",), ("totalorders",), ("email",)),
             "This is a customer list (it has 'Total Spent' and 'Total Orders' per customer), not an orders export: "
             "lifetime value needs every order with its date.",
             "the orders export (in Shopify: Orders > Export > 'All orders', 'CSV for Excel…')."),
    _Refusal((("amazonorderid",), ("orderstatus",), ("purchasedate",), ("itemprice",), ("asin",)),
             "This is Amazon's 'All Orders' report: it has no buyer column (Amazon leaves customer-identifying "
             "information out of it), so no order can be tied to a customer.",
             "Amazon's 'Amazon Fulfilled Shipments' report (Reports > Fulfillment > Sales), which has buyer-email "
             "for every shipped order."),
    _Refusal((("eventtype", "event", "eventname", "metricname", "activity"),
              ("timestamp", "eventts", "eventtime", "eventtimestamp", "datetime", "occurredat", "eventdate")),
             "This looks like an interactions (events) file — it has an event column and no order amount.",
             "an orders export in the orders slot; events go in the interactions slot."),
    _Refusal((("handle",), ("variantprice", "variantsku", "bodyhtml")),
             "This is a products export (a row per product or variant with its price), not an orders export: "
             "lifetime value needs every order with its customer and date.", _ORDERS_SLOT, _CUSTOMER_LIKE),
    _Refusal((("regularprice",), ("sku",), ("name",)),
             "This is a products export (a row per product with its regular price), not an orders export: "
             "lifetime value needs every order with its customer and date.", _ORDERS_SLOT, _CUSTOMER_LIKE),
    _Refusal((("productname", "productid"), ("costprice", "retailprice", "saleprice", "productcodesku")),
             "This is a products export (a row per product with its prices), not an orders export: lifetime value "
             "needs every order with its customer and date.", _ORDERS_SLOT, _CUSTOMER_LIKE),
    _Refusal((("payoutdate", "arrivaldate", "arrivaldateutc", "payoutid", "transferdate"),),
             "This is a payouts report (money paid out to your bank account), not an orders export: its rows are "
             "payouts or balance movements with no customer on them.", _ORDERS_SLOT, _CUSTOMER_LIKE),
]


def _pick(columns: tuple[str, ...], candidates: tuple[str, ...], taken: set) -> str | None:
    by_norm: dict = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    for cand in candidates:
        c = by_norm.get(cand)
        if c is not None and c not in taken:
            return c
    return None


def _guess(columns: tuple[str, ...], spec_columns: dict, fields: list[str]) -> dict:
    taken: set = set()
    out = {}
    for f in fields:
        c = _pick(columns, spec_columns.get(f, ()), taken)
        out[f] = c
        if c:
            taken.add(c)
    return out


def _has(norms: set, signature: tuple) -> bool:
    return bool(signature) and all(any(a in norms for a in alts) for alts in signature)


def detect_format(columns, fmt: str | None = None) -> Mapping:
    """Match a header against the registry (the most specific signature wins); ``fmt`` forces one.

    Raises DataError for exports that are not orders (a customer list, an events file)."""
    columns = tuple(columns)
    norms = {norm(c) for c in columns}
    if fmt is None:
        amount_like = any(a in norms for a in GENERIC_COLUMNS["amount"] if a != "value")
        for refusal in REFUSED:
            if _has(norms, refusal.signature) and not (refusal is REFUSED[1] and amount_like) \
                    and not any(u in norms for u in refusal.unless):
                raise DataError(refusal.message, expected=refusal.expected)
        matches = [spec for spec in FORMATS.values() if _has(norms, spec.signature)]
        fmt = max(matches, key=lambda s: len(s.signature)).name if matches else "generic"
    if fmt not in FORMATS:
        raise DataError(f"Unknown format {fmt!r}.", expected=f"one of {', '.join(FORMATS)}.")
    return FORMATS[fmt].mapping(columns)


INTERACTION_COLUMNS = {
    "customer_id": ("customerid", "customer", "email", "customeremail", "userid", "user", "clientid",
                    "visitorid", "memberid", "profileemail", "emailaddress", "subscriberemail", "userpseudoid",
                    "profileid", "personid"),
    "event_ts": ("eventts", "eventtime", "timestamp", "eventtimestamp", "ts", "time", "datetime", "date",
                 "createdat", "eventdate", "occurredat", "datetimeutc", "activitydate", "timestamputc"),
    "event_type": ("eventtype", "event", "type", "eventname", "action", "activity", "interaction", "metric",
                   "metricname"),
    "channel": ("channel", "source", "medium", "platform", "trafficsourcemedium", "campaignname", "campaign"),
    "value": ("value", "rating", "score", "satisfaction", "csat", "stars", "amount", "eventvalue"),
}


def detect_interaction_mapping(columns) -> Mapping:
    return Mapping("events", _guess(tuple(columns), INTERACTION_COLUMNS, INTERACTION_FIELDS))
