"""The HTTP side of the app (Starlette routes and middleware mounted by app.py's st.App): the
sign-in form that sets the session cookie, the calendar feed, protected file downloads, a health
route and security headers. No Streamlit here; crm_data does the work."""
