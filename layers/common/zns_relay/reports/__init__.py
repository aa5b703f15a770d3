"""How delivery reports reach a message: the signed CallbackUrl eSMS calls them to (callback_url: the
sender signs it, the callback function checks it, the store keeps its nonce), and their application, the
same whether a callback or the reconciler brought them (delivery)."""
