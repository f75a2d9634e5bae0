"""Streamlit helpers shared by app.py and pages/ (the clv/ library never imports streamlit)."""
