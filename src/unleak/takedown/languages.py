"""Notice texts in other languages: the DSA notice (Art. 16) in Spanish, French, German and
Portuguese beside English, chosen by `--lang` or the host's language in the directory.

The DSA exists in every official EU language. The statement of Art. 16(2)(d) below is quoted as
unleak's authors know the official language versions of Regulation (EU) 2022/2065; they could not
be compared with the Official Journal from here, so each non-English text is marked unconfirmed
(`OFFICIAL_CONFIRMED`) until a person checks it against EUR-Lex. The other bases are English only.
"""

from __future__ import annotations

LANGUAGES = ("en", "es", "fr", "de", "pt")
# Whether the Art. 16(2)(d) wording below was checked against the official language version.
OFFICIAL_CONFIRMED = {"en": True, "es": False, "fr": False, "de": False, "pt": False}

DSA_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "statement": "I confirm my bona fide belief that the information and allegations contained in this notice "
        "are accurate and complete.",
        "phrases": "bona fide belief|accurate and complete",
    },
    "es": {
        "title": "NOTIFICACIÓN DE CONTENIDO ILÍCITO (REGLAMENTO (UE) 2022/2065 DE SERVICIOS DIGITALES, ART. 16)",
        "legal_basis": "Base jurídica",
        "date": "Fecha",
        "to": "Para",
        "from": "De",
        "reference": "Referencia",
        "intro": "Esta es una notificación conforme al artículo 16 del Reglamento (UE) 2022/2065 (Reglamento de "
        "Servicios Digitales) sobre elementos concretos de información de su servicio que considero contenido ilícito.",
        "explanation": "Por qué esta información es contenido ilícito",
        "location": "Localización electrónica exacta (URL)",
        "name_email": "Nombre y dirección de correo electrónico de quien notifica",
        "bona_fide": "Declaración de buena fe",
        "statement": "Confirmo que estoy convencido/a de buena fe de que la información y las alegaciones que "
        "contiene esta notificación son precisas y completas.",
        "phrases": "buena fe|precisas y completas",
        "deadline": "El artículo 16, apartados 4 a 6, exige acusar recibo de esta notificación sin demora "
        "indebida, tramitarla de manera oportuna, diligente, no arbitraria y objetiva, e informarme de su "
        "decisión y de las posibilidades de recurso.",
        "signed": "Firmado,",
        "closing": "Le ruego que responda a esta dirección para confirmar la recepción e indicarme las medidas "
        "adoptadas. Conservo un registro de esta notificación y comprobaré si el contenido sigue disponible.",
        "subject": "[RSD art. 16] Solicitud de retirada: {n} URL en {host}",
    },
    "fr": {
        "title": "NOTIFICATION DE CONTENU ILLICITE (RÈGLEMENT (UE) 2022/2065 SUR LES SERVICES NUMÉRIQUES, ART. 16)",
        "legal_basis": "Base juridique",
        "date": "Date",
        "to": "À",
        "from": "De",
        "reference": "Référence",
        "intro": "Ceci est une notification au titre de l'article 16 du règlement (UE) 2022/2065 (règlement sur les "
        "services numériques) concernant des éléments d'information précis de votre service que je considère "
        "comme un contenu illicite.",
        "explanation": "Pourquoi ces informations constituent un contenu illicite",
        "location": "Emplacement électronique exact (URL)",
        "name_email": "Nom et adresse électronique de l'auteur de la notification",
        "bona_fide": "Déclaration de bonne foi",
        "statement": "Je confirme penser, de bonne foi, que les informations et allégations contenues dans la "
        "présente notification sont exactes et complètes.",
        "phrases": "bonne foi|exactes et complètes",
        "deadline": "L'article 16, paragraphes 4 à 6, vous impose d'accuser réception de la présente notification "
        "dans les meilleurs délais, de la traiter en temps opportun, de manière diligente, non arbitraire et "
        "objective, et de m'informer de votre décision et des voies de recours.",
        "signed": "Signé,",
        "closing": "Merci de répondre à cette adresse pour confirmer la réception et m'indiquer les mesures prises. "
        "Je conserve une trace de cette notification et vérifierai si le contenu reste disponible.",
        "subject": "[DSA art. 16] Demande de retrait : {n} URL sur {host}",
    },
    "de": {
        "title": "MELDUNG RECHTSWIDRIGER INHALTE (VERORDNUNG (EU) 2022/2065, GESETZ ÜBER DIGITALE DIENSTE, ART. 16)",
        "legal_basis": "Rechtsgrundlage",
        "date": "Datum",
        "to": "An",
        "from": "Von",
        "reference": "Referenz",
        "intro": "Dies ist eine Meldung nach Artikel 16 der Verordnung (EU) 2022/2065 (Gesetz über digitale Dienste) "
        "zu bestimmten Einzelinformationen in Ihrem Dienst, die ich für rechtswidrige Inhalte halte.",
        "explanation": "Warum diese Informationen rechtswidrige Inhalte sind",
        "location": "Genauer elektronischer Speicherort (URLs)",
        "name_email": "Name und E-Mail-Adresse der meldenden Person",
        "bona_fide": "Erklärung des guten Glaubens",
        "statement": "Ich erkläre, dass ich in gutem Glauben davon überzeugt bin, dass die in dieser Meldung "
        "enthaltenen Angaben und Anführungen richtig und vollständig sind.",
        "phrases": "gutem glauben|richtig und vollständig",
        "deadline": "Nach Artikel 16 Absätze 4 bis 6 haben Sie den Eingang dieser Meldung unverzüglich zu bestätigen, "
        "sie zeitnah, sorgfältig, frei von Willkür und objektiv zu bearbeiten und mich über Ihre Entscheidung "
        "und die möglichen Rechtsbehelfe zu informieren.",
        "signed": "Unterzeichnet,",
        "closing": "Bitte bestätigen Sie den Eingang an diese Adresse und teilen Sie mir mit, was Sie unternommen "
        "haben. Ich dokumentiere diese Meldung und prüfe, ob die Inhalte weiter abrufbar sind.",
        "subject": "[DSA Art. 16] Löschungsersuchen: {n} URL(s) auf {host}",
    },
    "pt": {
        "title": "NOTIFICAÇÃO DE CONTEÚDO ILEGAL (REGULAMENTO (UE) 2022/2065 DOS SERVIÇOS DIGITAIS, ART. 16.º)",
        "legal_basis": "Base jurídica",
        "date": "Data",
        "to": "Para",
        "from": "De",
        "reference": "Referência",
        "intro": "Esta é uma notificação nos termos do artigo 16.º do Regulamento (UE) 2022/2065 (Regulamento dos "
        "Serviços Digitais) sobre elementos específicos de informação do seu serviço que considero conteúdo ilegal.",
        "explanation": "Porque é que esta informação é conteúdo ilegal",
        "location": "Localização eletrónica exata (URL)",
        "name_email": "Nome e endereço de correio eletrónico do notificante",
        "bona_fide": "Declaração de boa-fé",
        "statement": "Confirmo a minha convicção de boa-fé de que as informações e alegações contidas nesta "
        "notificação são exatas e completas.",
        "phrases": "boa-fé|exatas e completas",
        "deadline": "O artigo 16.º, n.os 4 a 6, exige que confirme a receção desta notificação sem demora "
        "injustificada, que a trate de forma atempada, diligente, não arbitrária e objetiva e que me informe da "
        "sua decisão e das possibilidades de recurso.",
        "signed": "Assinado,",
        "closing": "Peço que responda para este endereço a confirmar a receção e a indicar as medidas tomadas. "
        "Guardo registo desta notificação e verificarei se o conteúdo continua disponível.",
        "subject": "[RSD art. 16.º] Pedido de remoção: {n} URL em {host}",
    },
}


def notice_language(requested: str | None, host_language: str = "") -> str:
    """The language of a notice: `--lang` if given, else the host's (directory), else English."""
    for lang in (requested, host_language):
        code = (lang or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def dsa_phrases(lang: str) -> tuple[str, ...]:
    return tuple(DSA_TEXTS.get(lang, DSA_TEXTS["en"])["phrases"].split("|"))
