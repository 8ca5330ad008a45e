"""`python -m crm_data.demo`: see crm_data.demo."""

from crm_data.demo import main

raise SystemExit(main())
