"""The proof of opposition (mes-rules-next.md B.3) as a PDF, built with fpdf2: name, full INS (the proof must
identify the person to whoever they show it), date and reference. Only the person who proved their identity
with the code gets it (a short-lived link), so the INS is not masked."""

from __future__ import annotations

from functions.accounts.models import OppositionProof
from functions.shared.clock import PARIS


def render(proof: OppositionProof) -> bytes:
    """A one-page A4 PDF in the core Helvetica font (latin-1: the French accents print, nothing to embed). fpdf2
    is imported here, not with the module: only an opposition pays for it, not every cold start."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title("Attestation d'opposition - Mon espace santé")
    pdf.set_creator("Mon espace santé")
    pdf.set_creation_date(proof.opposed_at)
    pdf.add_page()

    def paragraph(height: float, text: str) -> None:
        pdf.multi_cell(0, height, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font("Helvetica", style="B", size=16)
    paragraph(10, "Attestation d'opposition à la création de Mon espace santé")
    pdf.ln(6)
    pdf.set_font("Helvetica", size=12)
    paragraph(8, f"Nom : {proof.name}")
    paragraph(8, f"INS : {proof.ins}")
    paragraph(8, f"Date de l'opposition : {proof.opposed_at.astimezone(PARIS):%d/%m/%Y}")
    paragraph(8, f"Référence : {proof.reference}")
    pdf.ln(6)
    paragraph(7, "Cette personne s'est opposée à la création de son profil Mon espace santé. Aucun document ni "
                 "message n'y est déposé. Elle peut à tout moment activer son profil avec un code provisoire.")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The core fonts print latin-1 only: a character outside it (a rare name) prints as '?', not an error."""
    return text.encode("latin-1", "replace").decode("latin-1")
