"""ReconcilerFunction's logic: ask eSMS for the reports its callbacks did not bring, find unknown SMSIDs."""
