"""clv — the landing page: how the shop is doing, at a glance."""
import plotly.express as px
import streamlit as st

from ui.common import count, money, page_setup, shop
from ui.model import customers_table

settings = page_setup("Overview")
s = shop()
st.title("Your customers at a glance")
st.caption(f"Data: {st.session_state['source']}. Upload your own export on the **Data** page.")

customers = customers_table()
n = len(customers)
orders = int(customers["orders"].sum())
revenue = float(customers["revenue"].sum())
repeaters = customers["orders"] >= 2
c = st.columns(5)
c[0].metric("Customers", count(n))
c[1].metric("Orders", count(orders))
c[2].metric("Revenue", money(revenue))
c[3].metric("Average order value", money(revenue / max(orders, 1)))
c[4].metric("Repeat-customer rate", f"{repeaters.mean():.0%}")
st.caption(f"{repeaters.mean():.0%} of your customers ordered more than once; they brought in "
           f"{customers.loc[repeaters, 'revenue'].sum() / max(revenue, 1e-9):.0%} of revenue.")

monthly = s.con.sql("SELECT date_trunc('month', order_ts)::DATE AS month, sum(net) AS revenue, count(*) AS orders "
                    "FROM orders WHERE is_purchase GROUP BY ALL ORDER BY month").df()
st.plotly_chart(px.bar(monthly, x="month", y="revenue", title="Revenue by month"), width="stretch")
