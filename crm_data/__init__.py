"""The CRM's core: data, rules and services. Usable without Streamlit."""
