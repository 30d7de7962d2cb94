"""The enrolment refusals, with the codes and texts the app maps (mes-rules-next.md B.2): each is a stable code
the client shows as the app does. A wrong code and a wrong identity are the same NO_USER_FOUND, so the answer
never tells which of the two was wrong."""

from __future__ import annotations

from functions.shared.errors import Conflict, DomainError, Forbidden, NotFound, TooManyRequests, Unprocessable


class NoUserFound(NotFound):
    def __init__(self) -> None:
        DomainError.__init__(self, "Nous n'avons pas réussi à vous identifier. Veuillez vérifier votre saisie.",
                             code="NO_USER_FOUND")


class ContactsNotFound(Conflict):
    def __init__(self) -> None:
        super().__init__("Nous avons besoin de vos coordonnées : mettez-les à jour sur votre compte ameli ou "
                         "auprès de votre caisse.", code="CONTACTS_NOT_FOUND")


class DeceasedIndividual(Conflict):
    def __init__(self) -> None:
        super().__init__("Le profil d'une personne décédée ne peut pas être activé.", code="DECEASED_INDIVIDUAL")


class ProfileAlreadyExists(Conflict):
    def __init__(self) -> None:
        super().__init__("Un profil a déjà été créé pour cette personne.", code="PROFILE_ALREADY_EXISTS")


class MinDelay(TooManyRequests):
    def __init__(self) -> None:
        super().__init__("Une erreur est survenue. Veuillez attendre 30 secondes puis réessayez.",
                         code="MIN_DELAY_ERROR")


class CodeExpired(Conflict):
    def __init__(self, by_letter: bool) -> None:
        more = (" Le code provisoire ne peut servir qu'une seule fois : passez par votre compte ameli ou votre "
                "caisse." if by_letter else " Demandez-en un nouveau avec votre carte Vitale.")
        super().__init__("Votre code provisoire a expiré." + more, code="CODE_EXPIRED")


class CodeAlreadyUsed(Conflict):
    def __init__(self) -> None:
        super().__init__("Votre code provisoire a déjà été utilisé", code="CODE_ALREADY_USED")


class NotLegalRepresentative(Forbidden):
    def __init__(self) -> None:
        super().__init__("Seul le représentant légal auquel l'enfant est rattaché auprès du régime d'assurance "
                         "maladie obligatoire a accès à son profil.", code="NOT_LEGAL_REPRESENTATIVE")


class SpaceAlreadyCreated(Conflict):
    """Opposition is for before creation; afterwards the space is closed (POST /v1/me/closure)."""

    def __init__(self) -> None:
        super().__init__("Votre profil Mon espace santé a déjà été créé : pour vous y opposer, clôturez-le "
                         "depuis votre profil.", code="SPACE_ALREADY_CREATED")


class TermsOutdated(Unprocessable):
    def __init__(self, current: str) -> None:
        super().__init__(f"Acceptez la version en vigueur des conditions générales d'utilisation ({current}).",
                         code="TERMS_VERSION_MISMATCH")


class LoginAlreadyLinked(Conflict):
    def __init__(self) -> None:
        super().__init__("Cet identifiant est déjà rattaché à un autre profil.", code="LOGIN_ALREADY_LINKED")
