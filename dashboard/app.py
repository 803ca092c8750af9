"""Entry point: `streamlit run dashboard/app.py` (or `make dashboard`)."""

import streamlit as st

from dashboard.views import customer, pipeline, revenue, usage

st.set_page_config(page_title="Telecom platform", page_icon=":material/cell_tower:", layout="wide")

navigation = st.navigation(
    [
        st.Page(customer.render, title="Customer", icon=":material/person:", default=True),
        st.Page(revenue.render, title="Revenue KPIs", icon=":material/euro:", url_path="revenue"),
        st.Page(usage.render, title="Usage patterns", icon=":material/bar_chart:", url_path="usage"),
        st.Page(pipeline.render, title="Pipeline health", icon=":material/monitor_heart:", url_path="pipeline"),
    ]
)
navigation.run()
