"""The portal's pages: auth (login, logout, account, language), home (工作台), federation (admin and auditor),
officers (first-level unit and grassroots union officers)."""
