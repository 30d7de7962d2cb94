"""Signs the tokens MES issues to paired services with the KMS asymmetric key `MES_SERVICE_TOKEN_KEY` (RSA_2048,
SIGN_VERIFY, RSASSA_PKCS1_V1_5_SHA_256 = JWS RS256): the private key never leaves KMS. PyJWT has no remote
signer, so the compact JWS is assembled here (RFC 7515 7.1) and verified by PyJWT with the public key
(KMS GetPublicKey), which is what the measures flow does."""

from __future__ import annotations

import json
from typing import Any

from functions.catalogue.oauth import b64url

SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"


class KmsTokenSigner:
    """Fits `functions.catalogue.ports.TokenSigner`. `kid` is the key's alias, so a verifier knows which key."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key_id}
        signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                                 for part in (header, claims))
        signature: bytes = self._kms.sign(KeyId=self._key_id, Message=signing_input.encode(), MessageType="RAW",
                                          SigningAlgorithm=SIGNING_ALGORITHM)["Signature"]
        return f"{signing_input}.{b64url(signature)}"
