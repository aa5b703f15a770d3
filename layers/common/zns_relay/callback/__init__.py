"""CallbackFunction's logic: the signed callback URL eSMS calls (the sender signs it, the callback checks)."""
