"""Notice texts in other languages: every basis's notice in Spanish, French, German and
Portuguese beside English, chosen by `--lang` or the host's language in the directory.

The DSA exists in every official EU language. The statement of Art. 16(2)(d) below is quoted as
unleak's authors know the official language versions of Regulation (EU) 2022/2065; they could not
be compared with the Official Journal from here, so each non-English text is marked unconfirmed
(`OFFICIAL_CONFIRMED`) until a person checks it against EUR-Lex. The other bases have no official
text in these languages (see below): their translations are unleak's own and always marked so.
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


# --- every other basis ------------------------------------------------------------------------
# None of these laws or policies has an official text in these languages: the US statutes
# (DMCA, TAKE IT DOWN) and the UK Act exist only in English, and the platforms' and search
# engines' policies are their own. The statements below are unleak's own translations, marked
# unconfirmed at review; the element checks read them in the notice's language.

COMMON: dict[str, dict[str, str]] = {
    "es": {
        "numbering": "(numeración pendiente de confirmar)",
        "escalation_search": "ESCALADO. Envié un aviso de retirada del contenido indicado a continuación a {host} el {sent} UTC; su plazo ha vencido y el contenido sigue disponible. Por ello les ruego que lo retiren de sus resultados de búsqueda.",
        "signature": "Firma",
        "contact_for_notice": "Contacto para esta notificación",
        "email": "Correo electrónico",
        "telephone": "Teléfono",
        "further": "Explicación adicional",
        "queries": "Búsquedas que los muestran",
        "results": "Páginas de resultados que los muestran",
        "synthetic": "Las imágenes son sintéticas: creadas o alteradas digitalmente para representar a una persona real.",
        "not_sold": "Las imágenes nunca se vendieron ni se ofrecieron a cambio de pago.",
        "subject_rep": "la persona a la que represento",
        "subject_default": "la persona representada",
        "believer_self": "Tengo",
        "believer_rep": "La persona identificable representada, en cuyo nombre actúo, tiene",
        "i_am": "Soy {capacity}.",
        "and": " y ",
        "depicted_person": "la persona representada en el contenido",
        "authorised_representative": "representante autorizado/a de la persona representada",
        "copyright_owner": "titular de los derechos de autor",
        "agent": "agente autorizado/a para actuar en nombre del titular de los derechos de autor",
    },
    "fr": {
        "numbering": "(numérotation à confirmer)",
        "escalation_search": "ESCALADE. J'ai envoyé une notification de retrait du contenu indiqué ci-dessous à {host} le {sent} UTC ; son délai est écoulé et le contenu est toujours disponible. Je vous demande donc de le retirer de vos résultats de recherche.",
        "signature": "Signature",
        "contact_for_notice": "Contact pour cette notification",
        "email": "Courriel",
        "telephone": "Téléphone",
        "further": "Explication complémentaire",
        "queries": "Recherches qui les affichent",
        "results": "Pages de résultats qui les affichent",
        "synthetic": "Les images sont synthétiques : créées ou modifiées numériquement pour représenter une personne "
        "réelle.",
        "not_sold": "Les images n'ont jamais été vendues ni proposées contre paiement.",
        "subject_rep": "la personne que je représente",
        "subject_default": "la personne représentée",
        "believer_self": "J'ai",
        "believer_rep": "La personne identifiable représentée, au nom de laquelle j'agis, a",
        "i_am": "Je suis {capacity}.",
        "and": " et ",
        "depicted_person": "la personne représentée dans le contenu",
        "authorised_representative": "représentant(e) autorisé(e) de la personne représentée",
        "copyright_owner": "titulaire du droit d'auteur",
        "agent": "mandataire autorisé(e) à agir pour le titulaire du droit d'auteur",
    },
    "de": {
        "numbering": "(Nummerierung noch zu bestätigen)",
        "escalation_search": "ESKALATION. Ich habe am {sent} UTC eine Löschungsaufforderung für die unten genannten Inhalte an {host} gesendet; die Frist ist abgelaufen und die Inhalte sind weiterhin abrufbar. Ich bitte Sie daher, sie aus Ihren Suchergebnissen zu entfernen.",
        "signature": "Unterschrift",
        "contact_for_notice": "Kontakt für diese Meldung",
        "email": "E-Mail",
        "telephone": "Telefon",
        "further": "Weitere Erläuterung",
        "queries": "Suchanfragen, die sie anzeigen",
        "results": "Ergebnisseiten, die sie anzeigen",
        "synthetic": "Die Bilder sind synthetisch: digital erzeugt oder verändert, um eine reale Person darzustellen.",
        "not_sold": "Die Bilder wurden nie verkauft oder gegen Bezahlung angeboten.",
        "subject_rep": "die Person, die ich vertrete",
        "subject_default": "die abgebildete Person",
        "believer_self": "Ich habe",
        "believer_rep": "Die abgebildete identifizierbare Person, in deren Namen ich handle, hat",
        "i_am": "Ich bin {capacity}.",
        "and": " und ",
        "depicted_person": "die im Inhalt abgebildete Person",
        "authorised_representative": "bevollmächtigte Vertretung der abgebildeten Person",
        "copyright_owner": "Inhaber/in des Urheberrechts",
        "agent": "bevollmächtigte/r Vertreter/in des Urheberrechtsinhabers",
    },
    "pt": {
        "numbering": "(numeração a confirmar)",
        "escalation_search": "ESCALAMENTO. Enviei um pedido de remoção do conteúdo indicado abaixo a {host} em {sent} UTC; o prazo terminou e o conteúdo continua disponível. Peço por isso que o removam dos vossos resultados de pesquisa.",
        "signature": "Assinatura",
        "contact_for_notice": "Contacto para esta notificação",
        "email": "Correio eletrónico",
        "telephone": "Telefone",
        "further": "Explicação adicional",
        "queries": "Pesquisas que os mostram",
        "results": "Páginas de resultados que os mostram",
        "synthetic": "As imagens são sintéticas: criadas ou alteradas digitalmente para retratar uma pessoa real.",
        "not_sold": "As imagens nunca foram vendidas nem oferecidas mediante pagamento.",
        "subject_rep": "a pessoa que represento",
        "subject_default": "a pessoa retratada",
        "believer_self": "Tenho",
        "believer_rep": "A pessoa identificável retratada, em nome da qual atuo, tem",
        "i_am": "Sou {capacity}.",
        "and": " e ",
        "depicted_person": "a pessoa retratada no conteúdo",
        "authorised_representative": "representante autorizado/a da pessoa retratada",
        "copyright_owner": "titular dos direitos de autor",
        "agent": "agente autorizado/a a agir em nome do titular dos direitos de autor",
    },
}

_DMCA: dict[str, dict] = {
    "es": {
        "title": "NOTIFICACIÓN DE INFRACCIÓN (DMCA, 17 U.S.C. §512(c)(3))",
        "intro": "Esta es una notificación de presunta infracción conforme a la Digital Millennium Copyright Act, "
        "17 U.S.C. §512(c)(3), dirigida al agente designado del proveedor de servicios. Le ruego que retire el "
        "material infractor indicado a continuación o inhabilite el acceso a él.",
        "subject": "[DMCA §512(c)] Solicitud de retirada: {n} URL en {host}",
        "deadline": "Para conservar la protección del 17 U.S.C. §512(c), el proveedor de servicios debe actuar con "
        "rapidez para retirar el material o inhabilitar el acceso a él.",
        "h": {
            "work": "Obra(s) protegida(s) infringida(s)",
            "material": "Material infractor que debe retirarse y su ubicación",
            "contact": "Datos de contacto de la parte reclamante",
            "good_faith": "Declaración de buena fe",
            "accuracy": "Declaración de exactitud, bajo pena de perjurio",
        },
        "statements": {
            "good_faith": "Declaro de buena fe que el uso del material en la forma denunciada no está autorizado por "
            "el titular de los derechos de autor, su agente o la ley.",
            "accuracy": "Juro que la información de esta notificación es exacta y, bajo pena de perjurio (under "
            "penalty of perjury), que estoy autorizado/a para actuar en nombre del titular de un derecho exclusivo "
            "presuntamente infringido.",
        },
        "phrases": {
            "good_faith": "buena fe|no está autorizado por el titular de los derechos de autor, su agente o la ley",
            "accuracy": "exacta|bajo pena de perjurio|autorizado/a para actuar en nombre del titular",
        },
    },
    "fr": {
        "title": "NOTIFICATION DE CONTREFAÇON (DMCA, 17 U.S.C. §512(c)(3))",
        "intro": "Ceci est une notification de contrefaçon au titre du Digital Millennium Copyright Act, 17 U.S.C. "
        "§512(c)(3), adressée à l'agent désigné du prestataire de services. Je vous demande de retirer le matériel "
        "contrefaisant indiqué ci-dessous, ou d'en rendre l'accès impossible.",
        "subject": "[DMCA §512(c)] Demande de retrait : {n} URL sur {host}",
        "deadline": "Pour conserver la protection du 17 U.S.C. §512(c), le prestataire de services doit agir "
        "promptement pour retirer le matériel ou en rendre l'accès impossible.",
        "h": {
            "work": "Œuvre(s) protégée(s) contrefaite(s)",
            "material": "Matériel contrefaisant à retirer, et son emplacement",
            "contact": "Coordonnées de la partie plaignante",
            "good_faith": "Déclaration de bonne foi",
            "accuracy": "Déclaration d'exactitude, sous peine de parjure",
        },
        "statements": {
            "good_faith": "Je crois de bonne foi que l'utilisation du matériel de la manière contestée n'est autorisée "
            "ni par le titulaire du droit d'auteur, ni par son mandataire, ni par la loi.",
            "accuracy": "Je jure que les informations de la présente notification sont exactes et, sous peine de "
            "parjure (under penalty of perjury), que je suis autorisé(e) à agir au nom du titulaire d'un droit "
            "exclusif prétendument violé.",
        },
        "phrases": {
            "good_faith": "bonne foi|n'est autorisée ni par le titulaire du droit d'auteur, ni par son mandataire, "
            "ni par la loi",
            "accuracy": "exactes|sous peine de parjure|autorisé(e) à agir au nom du titulaire",
        },
    },
    "de": {
        "title": "MITTEILUNG ÜBER EINE URHEBERRECHTSVERLETZUNG (DMCA, 17 U.S.C. §512(c)(3))",
        "intro": "Dies ist eine Mitteilung über eine behauptete Rechtsverletzung nach dem Digital Millennium "
        "Copyright Act, 17 U.S.C. §512(c)(3), an den benannten Vertreter des Diensteanbieters. Ich bitte Sie, das "
        "unten bezeichnete rechtsverletzende Material zu entfernen oder den Zugang dazu zu sperren.",
        "subject": "[DMCA §512(c)] Löschungsersuchen: {n} URL(s) auf {host}",
        "deadline": "Um den Schutz von 17 U.S.C. §512(c) zu behalten, muss der Diensteanbieter das Material zügig "
        "entfernen oder den Zugang dazu sperren.",
        "h": {
            "work": "Verletzte urheberrechtlich geschützte Werke",
            "material": "Zu entfernendes rechtsverletzendes Material und sein Ort",
            "contact": "Kontaktdaten der beschwerdeführenden Partei",
            "good_faith": "Erklärung des guten Glaubens",
            "accuracy": "Erklärung der Richtigkeit, unter Strafandrohung wegen Meineids",
        },
        "statements": {
            "good_faith": "Ich bin in gutem Glauben der Überzeugung, dass die beanstandete Nutzung des Materials "
            "weder vom Urheberrechtsinhaber noch von seinem Vertreter noch durch das Gesetz erlaubt ist.",
            "accuracy": "Ich versichere, dass die Angaben in dieser Mitteilung zutreffend sind, und erkläre unter "
            "Strafandrohung wegen Meineids (under penalty of perjury), dass ich berechtigt bin, im Namen des "
            "Inhabers eines angeblich verletzten ausschließlichen Rechts zu handeln.",
        },
        "phrases": {
            "good_faith": "gutem glauben|weder vom urheberrechtsinhaber noch von seinem vertreter noch durch das "
            "gesetz erlaubt",
            "accuracy": "zutreffend|under penalty of perjury|berechtigt bin, im namen des inhabers",
        },
    },
    "pt": {
        "title": "NOTIFICAÇÃO DE INFRAÇÃO (DMCA, 17 U.S.C. §512(c)(3))",
        "intro": "Esta é uma notificação de alegada infração nos termos do Digital Millennium Copyright Act, "
        "17 U.S.C. §512(c)(3), dirigida ao agente designado do prestador de serviços. Peço que remova o material "
        "infrator indicado abaixo, ou que bloqueie o acesso a ele.",
        "subject": "[DMCA §512(c)] Pedido de remoção: {n} URL em {host}",
        "deadline": "Para manter a proteção do 17 U.S.C. §512(c), o prestador de serviços deve agir com rapidez "
        "para remover o material ou bloquear o acesso a ele.",
        "h": {
            "work": "Obra(s) protegida(s) infringida(s)",
            "material": "Material infrator a remover, e onde está",
            "contact": "Dados de contacto da parte reclamante",
            "good_faith": "Declaração de boa-fé",
            "accuracy": "Declaração de exatidão, sob pena de perjúrio",
        },
        "statements": {
            "good_faith": "Declaro de boa-fé que a utilização do material na forma denunciada não está autorizada "
            "pelo titular dos direitos de autor, pelo seu agente ou pela lei.",
            "accuracy": "Juro que as informações desta notificação são exatas e, sob pena de perjúrio (under "
            "penalty of perjury), que estou autorizado/a a agir em nome do titular de um direito exclusivo "
            "alegadamente infringido.",
        },
        "phrases": {
            "good_faith": "boa-fé|não está autorizada pelo titular dos direitos de autor, pelo seu agente ou pela lei",
            "accuracy": "exatas|sob pena de perjúrio|autorizado/a a agir em nome do titular",
        },
    },
}

_DMCA_SEARCH_OVERRIDES: dict[str, dict] = {
    "es": {
        "title": "NOTIFICACIÓN DE INFRACCIÓN: ENLACES EN RESULTADOS DE BÚSQUEDA (DMCA, 17 U.S.C. §512(d))",
        "intro": "Esta es una notificación de presunta infracción conforme al 17 U.S.C. §512(d)(3). Su servicio de "
        "búsqueda remite o enlaza a los usuarios al material infractor indicado a continuación; le ruego que "
        "retire esas referencias y enlaces o inhabilite el acceso a ellos.",
        "subject": "[DMCA §512(d)] Solicitud de retirada: {n} URL en {host}",
        "deadline": "Para conservar la protección del 17 U.S.C. §512(d), el proveedor de servicios debe actuar con "
        "rapidez para retirar las referencias o enlaces o inhabilitar el acceso a ellos.",
        "material": "Referencias y enlaces que deben retirarse y su ubicación",
    },
    "fr": {
        "title": "NOTIFICATION DE CONTREFAÇON : LIENS DANS LES RÉSULTATS DE RECHERCHE (DMCA, 17 U.S.C. §512(d))",
        "intro": "Ceci est une notification de contrefaçon au titre du 17 U.S.C. §512(d)(3). Votre service de "
        "recherche renvoie les utilisateurs au matériel contrefaisant indiqué ci-dessous ; je vous demande de "
        "retirer ces références et liens, ou d'en rendre l'accès impossible.",
        "subject": "[DMCA §512(d)] Demande de retrait : {n} URL sur {host}",
        "deadline": "Pour conserver la protection du 17 U.S.C. §512(d), le prestataire de services doit agir "
        "promptement pour retirer les références ou liens, ou en rendre l'accès impossible.",
        "material": "Références et liens à retirer, et leur emplacement",
    },
    "de": {
        "title": "MITTEILUNG ÜBER EINE URHEBERRECHTSVERLETZUNG: LINKS IN SUCHERGEBNISSEN (DMCA, 17 U.S.C. §512(d))",
        "intro": "Dies ist eine Mitteilung über eine behauptete Rechtsverletzung nach 17 U.S.C. §512(d)(3). Ihr "
        "Suchdienst verweist oder verlinkt Nutzer auf das unten bezeichnete rechtsverletzende Material; ich bitte "
        "Sie, diese Verweise und Links zu entfernen oder den Zugang dazu zu sperren.",
        "subject": "[DMCA §512(d)] Löschungsersuchen: {n} URL(s) auf {host}",
        "deadline": "Um den Schutz von 17 U.S.C. §512(d) zu behalten, muss der Diensteanbieter die Verweise oder "
        "Links zügig entfernen oder den Zugang dazu sperren.",
        "material": "Zu entfernende Verweise und Links und ihr Ort",
    },
    "pt": {
        "title": "NOTIFICAÇÃO DE INFRAÇÃO: LIGAÇÕES EM RESULTADOS DE PESQUISA (DMCA, 17 U.S.C. §512(d))",
        "intro": "Esta é uma notificação de alegada infração nos termos do 17 U.S.C. §512(d)(3). O seu serviço de "
        "pesquisa remete ou liga os utilizadores ao material infrator indicado abaixo; peço que remova essas "
        "referências e ligações, ou que bloqueie o acesso a elas.",
        "subject": "[DMCA §512(d)] Pedido de remoção: {n} URL em {host}",
        "deadline": "Para manter a proteção do 17 U.S.C. §512(d), o prestador de serviços deve agir com rapidez "
        "para remover as referências ou ligações, ou bloquear o acesso a elas.",
        "material": "Referências e ligações a remover, e onde estão",
    },
}


def _dmca_search(lang: str) -> dict:
    o = _DMCA_SEARCH_OVERRIDES[lang]
    base = _DMCA[lang]
    return {
        **base,
        **{k: v for k, v in o.items() if k != "material"},
        "h": {**base["h"], "material": o["material"]},
    }


_TAKE_IT_DOWN: dict[str, dict] = {
    "es": {
        "title": "SOLICITUD DE RETIRADA: REPRESENTACIÓN VISUAL ÍNTIMA NO CONSENTIDA (TAKE IT DOWN ACT)",
        "intro": "Esta es una solicitud de retirada de representaciones visuales íntimas no consentidas conforme a "
        "la sección 3 de la TAKE IT DOWN Act (Pub. L. 119-12), sobre representaciones visuales íntimas de "
        "{subject} publicadas sin consentimiento en las ubicaciones indicadas a continuación.",
        "subject": "[TAKE IT DOWN Act] Solicitud de retirada: {n} URL en {host}",
        "deadline": "La sección 3(a)(3) obliga a una plataforma cubierta que reciba una solicitud válida a retirar "
        "la representación lo antes posible y a más tardar 48 horas después de recibirla, y a hacer esfuerzos "
        "razonables para identificar y retirar las copias idénticas conocidas.",
        "h": {
            "identification": "Identificación y ubicación de las representaciones visuales íntimas",
            "good_faith": "Declaración de que la representación no es consentida",
            "contact": "Datos de contacto",
        },
        "statements": {
            "good_faith": "{believer} la convicción de buena fe de que las representaciones visuales íntimas "
            "identificadas en esta solicitud no son consentidas.",
        },
        "phrases": {"good_faith": "buena fe|no son consentidas"},
    },
    "fr": {
        "title": "DEMANDE DE RETRAIT : REPRÉSENTATION VISUELLE INTIME NON CONSENTIE (TAKE IT DOWN ACT)",
        "intro": "Ceci est une demande de retrait de représentations visuelles intimes non consenties au titre de "
        "la section 3 du TAKE IT DOWN Act (Pub. L. 119-12), concernant des représentations visuelles intimes de "
        "{subject} publiées sans consentement aux emplacements indiqués ci-dessous.",
        "subject": "[TAKE IT DOWN Act] Demande de retrait : {n} URL sur {host}",
        "deadline": "La section 3(a)(3) oblige une plateforme visée qui reçoit une demande valable à retirer la "
        "représentation dès que possible, et au plus tard 48 heures après sa réception, et à faire des efforts "
        "raisonnables pour identifier et retirer les copies identiques connues.",
        "h": {
            "identification": "Identification et emplacement des représentations visuelles intimes",
            "good_faith": "Déclaration que la représentation n'est pas consentie",
            "contact": "Coordonnées",
        },
        "statements": {
            "good_faith": "{believer} la conviction de bonne foi que les représentations visuelles intimes "
            "identifiées dans la présente demande ne sont pas consenties.",
        },
        "phrases": {"good_faith": "bonne foi|ne sont pas consenties"},
    },
    "de": {
        "title": "LÖSCHUNGSERSUCHEN: NICHT EINVERNEHMLICHE INTIME BILDLICHE DARSTELLUNG (TAKE IT DOWN ACT)",
        "intro": "Dies ist ein Ersuchen um Entfernung nicht einvernehmlicher intimer bildlicher Darstellungen nach "
        "Abschnitt 3 des TAKE IT DOWN Act (Pub. L. 119-12), betreffend intime bildliche Darstellungen von "
        "{subject}, die ohne Einwilligung an den unten genannten Stellen veröffentlicht wurden.",
        "subject": "[TAKE IT DOWN Act] Löschungsersuchen: {n} URL(s) auf {host}",
        "deadline": "Nach Abschnitt 3(a)(3) muss eine erfasste Plattform nach Eingang eines gültigen Ersuchens die "
        "Darstellung so bald wie möglich, spätestens 48 Stunden nach Eingang, entfernen und angemessene "
        "Anstrengungen unternehmen, bekannte identische Kopien zu finden und zu entfernen.",
        "h": {
            "identification": "Bezeichnung und Ort der intimen bildlichen Darstellungen",
            "good_faith": "Erklärung, dass die Darstellung nicht einvernehmlich ist",
            "contact": "Kontaktdaten",
        },
        "statements": {
            "good_faith": "{believer} in gutem Glauben die Überzeugung, dass die in diesem Ersuchen bezeichneten "
            "intimen bildlichen Darstellungen nicht einvernehmlich sind.",
        },
        "phrases": {"good_faith": "gutem glauben|nicht einvernehmlich"},
    },
    "pt": {
        "title": "PEDIDO DE REMOÇÃO: REPRESENTAÇÃO VISUAL ÍNTIMA NÃO CONSENTIDA (TAKE IT DOWN ACT)",
        "intro": "Este é um pedido de remoção de representações visuais íntimas não consentidas nos termos da "
        "secção 3 do TAKE IT DOWN Act (Pub. L. 119-12), sobre representações visuais íntimas de {subject} "
        "publicadas sem consentimento nas localizações indicadas abaixo.",
        "subject": "[TAKE IT DOWN Act] Pedido de remoção: {n} URL em {host}",
        "deadline": "A secção 3(a)(3) obriga uma plataforma abrangida que receba um pedido válido a remover a "
        "representação o mais depressa possível, e no máximo 48 horas após o receber, e a fazer esforços "
        "razoáveis para identificar e remover as cópias idênticas conhecidas.",
        "h": {
            "identification": "Identificação e localização das representações visuais íntimas",
            "good_faith": "Declaração de que a representação não é consentida",
            "contact": "Dados de contacto",
        },
        "statements": {
            "good_faith": "{believer} a convicção de boa-fé de que as representações visuais íntimas identificadas "
            "neste pedido não são consentidas.",
        },
        "phrases": {"good_faith": "boa-fé|não são consentidas"},
    },
}

_UK_OSA: dict[str, dict] = {
    "es": {
        "title": "INFORME SOBRE CONTENIDO DE IMÁGENES ÍNTIMAS (ONLINE SAFETY ACT 2023 DEL REINO UNIDO)",
        "intro": "Este es un informe sobre contenido de imágenes íntimas conforme a {citation}.",
        "subject": "[UK OSA] Informe de imágenes íntimas: {n} URL en {host}",
        "deadline": "La ley obliga al servicio a retirar este contenido (junto con el contenido idéntico o "
        "sustancialmente idéntico) tan pronto como sea razonablemente posible y a más tardar 48 horas después "
        "de recibir este informe.",
        "h": {
            "declaration_present": "Declaración: hay contenido de imágenes íntimas",
            "declaration_subject": "Declaración: lo presenta la persona objeto del contenido o alguien en su nombre",
            "declaration_good_faith": "Declaración: de buena fe y veraz",
            "identification": "Información que identifica el contenido",
            "contact": "Datos de contacto de quien presenta el informe",
        },
        "statements": {
            "declaration_present": "Declaro que en su servicio hay contenido de imágenes íntimas de {subject} en las "
            "ubicaciones indicadas en este informe.",
            "declaration_subject": "Declaro que este informe lo presenta la persona objeto del contenido, o una "
            "persona que actúa en nombre de la persona objeto del contenido.",
            "declaration_good_faith": "Declaro que este informe se presenta de buena fe y que, a mi leal saber y "
            "entender, es veraz.",
        },
        "phrases": {
            "declaration_present": "declaro|contenido de imágenes íntimas",
            "declaration_subject": "declaro|objeto del contenido",
            "declaration_good_faith": "declaro|buena fe|a mi leal saber y entender|veraz",
        },
    },
    "fr": {
        "title": "SIGNALEMENT DE CONTENU D'IMAGES INTIMES (ONLINE SAFETY ACT 2023 DU ROYAUME-UNI)",
        "intro": "Ceci est un signalement de contenu d'images intimes au titre de {citation}.",
        "subject": "[UK OSA] Signalement d'images intimes : {n} URL sur {host}",
        "deadline": "La loi oblige le service à retirer ce contenu (ainsi que le contenu identique ou "
        "substantiellement identique) dès que cela est raisonnablement possible et au plus tard 48 heures après "
        "la réception du présent signalement.",
        "h": {
            "declaration_present": "Déclaration : du contenu d'images intimes est présent",
            "declaration_subject": "Déclaration : fait par la personne concernée ou en son nom",
            "declaration_good_faith": "Déclaration : fait de bonne foi et exact",
            "identification": "Informations identifiant le contenu",
            "contact": "Coordonnées de l'auteur du signalement",
        },
        "statements": {
            "declaration_present": "Je déclare que du contenu d'images intimes de {subject} est présent sur votre "
            "service aux emplacements indiqués dans le présent signalement.",
            "declaration_subject": "Je déclare que le présent signalement est fait par la personne concernée par le "
            "contenu, ou par une personne agissant au nom de la personne concernée par le contenu.",
            "declaration_good_faith": "Je déclare que le présent signalement est fait de bonne foi et qu'il est, à "
            "ma connaissance et selon ma conviction, exact.",
        },
        "phrases": {
            "declaration_present": "je déclare|contenu d'images intimes",
            "declaration_subject": "je déclare|personne concernée par le contenu",
            "declaration_good_faith": "je déclare|bonne foi|à ma connaissance et selon ma conviction|exact",
        },
    },
    "de": {
        "title": "MELDUNG INTIMER BILDINHALTE (ONLINE SAFETY ACT 2023, VEREINIGTES KÖNIGREICH)",
        "intro": "Dies ist eine Meldung intimer Bildinhalte nach {citation}.",
        "subject": "[UK OSA] Meldung intimer Bildinhalte: {n} URL(s) auf {host}",
        "deadline": "Das Gesetz verpflichtet den Dienst, diese Inhalte (mit gleichen oder im Wesentlichen gleichen "
        "Inhalten) so bald wie vernünftigerweise möglich und spätestens 48 Stunden nach Eingang dieser Meldung "
        "zu entfernen.",
        "h": {
            "declaration_present": "Erklärung: intime Bildinhalte sind vorhanden",
            "declaration_subject": "Erklärung: von der dargestellten Person oder in ihrem Namen erstattet",
            "declaration_good_faith": "Erklärung: in gutem Glauben und wahr",
            "identification": "Angaben zur Bezeichnung der Inhalte",
            "contact": "Kontaktdaten der meldenden Person",
        },
        "statements": {
            "declaration_present": "Ich erkläre, dass sich intime Bildinhalte von {subject} an den in dieser Meldung "
            "genannten Stellen in Ihrem Dienst befinden.",
            "declaration_subject": "Ich erkläre, dass diese Meldung von der im Inhalt dargestellten Person oder von "
            "einer in ihrem Namen handelnden Person erstattet wird.",
            "declaration_good_faith": "Ich erkläre, dass diese Meldung in gutem Glauben erstattet wird und nach "
            "bestem Wissen und Gewissen wahr ist.",
        },
        "phrases": {
            "declaration_present": "ich erkläre|intime bildinhalte",
            "declaration_subject": "ich erkläre|im inhalt dargestellten person",
            "declaration_good_faith": "ich erkläre|gutem glauben|nach bestem wissen und gewissen|wahr",
        },
    },
    "pt": {
        "title": "DENÚNCIA DE CONTEÚDO DE IMAGENS ÍNTIMAS (ONLINE SAFETY ACT 2023 DO REINO UNIDO)",
        "intro": "Esta é uma denúncia de conteúdo de imagens íntimas nos termos de {citation}.",
        "subject": "[UK OSA] Denúncia de imagens íntimas: {n} URL em {host}",
        "deadline": "A lei obriga o serviço a remover este conteúdo (juntamente com o conteúdo igual ou "
        "substancialmente igual) logo que razoavelmente possível e no máximo 48 horas após a receção desta "
        "denúncia.",
        "h": {
            "declaration_present": "Declaração: existe conteúdo de imagens íntimas",
            "declaration_subject": "Declaração: feita pela pessoa retratada ou em seu nome",
            "declaration_good_faith": "Declaração: feita de boa-fé e verdadeira",
            "identification": "Informação que identifica o conteúdo",
            "contact": "Dados de contacto de quem faz a denúncia",
        },
        "statements": {
            "declaration_present": "Declaro que existe no seu serviço conteúdo de imagens íntimas de {subject} nas "
            "localizações indicadas nesta denúncia.",
            "declaration_subject": "Declaro que esta denúncia é feita pela pessoa retratada no conteúdo, ou por "
            "alguém que atua em nome da pessoa retratada no conteúdo.",
            "declaration_good_faith": "Declaro que esta denúncia é feita de boa-fé e que é, tanto quanto sei e creio, "
            "verdadeira.",
        },
        "phrases": {
            "declaration_present": "declaro|conteúdo de imagens íntimas",
            "declaration_subject": "declaro|pessoa retratada no conteúdo",
            "declaration_good_faith": "declaro|boa-fé|tanto quanto sei e creio|verdadeira",
        },
    },
}

_NCII_POLICY: dict[str, dict] = {
    "es": {
        "title": "DENUNCIA CONFORME A LA POLÍTICA DE LA PLATAFORMA SOBRE IMÁGENES ÍNTIMAS NO CONSENTIDAS",
        "intro": "Denuncio contenido de su servicio que infringe su política sobre imágenes íntimas no consentidas "
        "y les ruego que lo retiren.",
        "subject": "[Imágenes íntimas no consentidas] Solicitud de retirada: {n} URL en {host}",
        "h": {
            "identification": "Ubicación del contenido",
            "nonconsensual": "Qué es el contenido",
            "name_email": "Quién denuncia",
            "accuracy": "Exactitud",
        },
        "statements": {
            "nonconsensual": "El contenido de estas ubicaciones muestra a {subject} de forma íntima o sexual y se "
            "compartió sin su consentimiento, en infracción de su política sobre imágenes íntimas no consentidas.",
            "accuracy": "La información de este informe es exacta a mi leal saber y entender.",
        },
        "phrases": {"nonconsensual": "sin su consentimiento", "accuracy": "exacta"},
    },
    "fr": {
        "title": "SIGNALEMENT AU TITRE DE LA POLITIQUE DE LA PLATEFORME SUR LES IMAGES INTIMES NON CONSENTIES",
        "intro": "Je signale un contenu de votre service qui enfreint votre politique sur les images intimes non "
        "consenties, et vous demande de le retirer.",
        "subject": "[Images intimes non consenties] Demande de retrait : {n} URL sur {host}",
        "h": {
            "identification": "Emplacement du contenu",
            "nonconsensual": "Nature du contenu",
            "name_email": "Auteur du signalement",
            "accuracy": "Exactitude",
        },
        "statements": {
            "nonconsensual": "Le contenu à ces emplacements montre {subject} de manière intime ou sexuelle et a été "
            "partagé sans son consentement, en violation de votre politique sur les images intimes non consenties.",
            "accuracy": "Les informations de ce signalement sont exactes à ma connaissance.",
        },
        "phrases": {"nonconsensual": "sans son consentement", "accuracy": "exactes"},
    },
    "de": {
        "title": "MELDUNG NACH DER RICHTLINIE DER PLATTFORM ZU NICHT EINVERNEHMLICHEN INTIMEN BILDERN",
        "intro": "Ich melde Inhalte in Ihrem Dienst, die gegen Ihre Richtlinie zu nicht einvernehmlich geteilten "
        "intimen Bildern verstoßen, und bitte Sie, sie zu entfernen.",
        "subject": "[Nicht einvernehmliche intime Bilder] Löschungsersuchen: {n} URL(s) auf {host}",
        "h": {
            "identification": "Ort der Inhalte",
            "nonconsensual": "Was die Inhalte sind",
            "name_email": "Wer meldet",
            "accuracy": "Richtigkeit",
        },
        "statements": {
            "nonconsensual": "Die Inhalte an diesen Stellen zeigen {subject} in intimer oder sexueller Weise und "
            "wurden ohne Einwilligung geteilt, unter Verstoß gegen Ihre Richtlinie zu nicht einvernehmlich "
            "geteilten intimen Bildern.",
            "accuracy": "Die Angaben in dieser Meldung sind nach meinem besten Wissen zutreffend.",
        },
        "phrases": {"nonconsensual": "ohne einwilligung", "accuracy": "zutreffend"},
    },
    "pt": {
        "title": "DENÚNCIA AO ABRIGO DA POLÍTICA DA PLATAFORMA SOBRE IMAGENS ÍNTIMAS NÃO CONSENTIDAS",
        "intro": "Denuncio conteúdo do seu serviço que viola a sua política sobre imagens íntimas não consentidas, "
        "e peço que o removam.",
        "subject": "[Imagens íntimas não consentidas] Pedido de remoção: {n} URL em {host}",
        "h": {
            "identification": "Localização do conteúdo",
            "nonconsensual": "O que é o conteúdo",
            "name_email": "Quem denuncia",
            "accuracy": "Exatidão",
        },
        "statements": {
            "nonconsensual": "O conteúdo nestas localizações mostra {subject} de forma íntima ou sexual e foi "
            "partilhado sem o seu consentimento, em violação da sua política sobre imagens íntimas não consentidas.",
            "accuracy": "As informações desta denúncia são exatas, tanto quanto sei.",
        },
        "phrases": {"nonconsensual": "sem o seu consentimento", "accuracy": "exatas"},
    },
}

_SEARCH_DELISTING: dict[str, dict] = {
    "es": {
        "title": "SOLICITUD DE RETIRADA DE RESULTADOS DE BÚSQUEDA: IMÁGENES ÍNTIMAS NO CONSENTIDAS",
        "intro": "Les ruego que retiren de sus resultados de búsqueda las páginas e imágenes indicadas a "
        "continuación, que muestran imágenes íntimas no consentidas.",
        "subject": "[Retirada de resultados] Imágenes íntimas no consentidas: {n} URL en {host}",
        "h": {
            "identification": "Páginas e imágenes que deben retirarse",
            "nonconsensual": "Qué es el contenido",
            "name_email": "Quién lo solicita",
            "accuracy": "Exactitud",
        },
        "statements": {
            "nonconsensual": "Las páginas indicadas muestran imágenes íntimas de {subject} publicadas sin su "
            "consentimiento. Les ruego que las retiren, junto con las imágenes, de sus resultados de búsqueda.",
            "accuracy": "La información de esta solicitud es exacta a mi leal saber y entender.",
        },
        "phrases": {"nonconsensual": "sin su consentimiento", "accuracy": "exacta"},
    },
    "fr": {
        "title": "DEMANDE DE DÉRÉFÉRENCEMENT : IMAGES INTIMES NON CONSENTIES",
        "intro": "Je vous demande de retirer de vos résultats de recherche les pages et images indiquées "
        "ci-dessous, qui montrent des images intimes non consenties.",
        "subject": "[Déréférencement] Images intimes non consenties : {n} URL sur {host}",
        "h": {
            "identification": "Pages et images à déréférencer",
            "nonconsensual": "Nature du contenu",
            "name_email": "Auteur de la demande",
            "accuracy": "Exactitude",
        },
        "statements": {
            "nonconsensual": "Les pages indiquées montrent des images intimes de {subject} publiées sans son "
            "consentement. Merci de les retirer, ainsi que les images, de vos résultats de recherche.",
            "accuracy": "Les informations de cette demande sont exactes à ma connaissance.",
        },
        "phrases": {"nonconsensual": "sans son consentement", "accuracy": "exactes"},
    },
    "de": {
        "title": "ANTRAG AUF ENTFERNUNG AUS SUCHERGEBNISSEN: NICHT EINVERNEHMLICHE INTIME BILDER",
        "intro": "Ich bitte Sie, die unten aufgeführten Seiten und Bilder, die nicht einvernehmliche intime Bilder "
        "zeigen, aus Ihren Suchergebnissen zu entfernen.",
        "subject": "[Entfernung aus Suchergebnissen] Nicht einvernehmliche intime Bilder: {n} URL(s) auf {host}",
        "h": {
            "identification": "Zu entfernende Seiten und Bilder",
            "nonconsensual": "Was die Inhalte sind",
            "name_email": "Wer den Antrag stellt",
            "accuracy": "Richtigkeit",
        },
        "statements": {
            "nonconsensual": "Die aufgeführten Seiten zeigen intime Bilder von {subject}, die ohne Einwilligung "
            "veröffentlicht wurden. Bitte entfernen Sie sie und die Bilder aus Ihren Suchergebnissen.",
            "accuracy": "Die Angaben in diesem Antrag sind nach meinem besten Wissen zutreffend.",
        },
        "phrases": {"nonconsensual": "ohne einwilligung", "accuracy": "zutreffend"},
    },
    "pt": {
        "title": "PEDIDO DE REMOÇÃO DE RESULTADOS DE PESQUISA: IMAGENS ÍNTIMAS NÃO CONSENTIDAS",
        "intro": "Peço que removam dos vossos resultados de pesquisa as páginas e imagens indicadas abaixo, que "
        "mostram imagens íntimas não consentidas.",
        "subject": "[Remoção de resultados] Imagens íntimas não consentidas: {n} URL em {host}",
        "h": {
            "identification": "Páginas e imagens a remover",
            "nonconsensual": "O que é o conteúdo",
            "name_email": "Quem faz o pedido",
            "accuracy": "Exatidão",
        },
        "statements": {
            "nonconsensual": "As páginas indicadas mostram imagens íntimas de {subject} publicadas sem o seu "
            "consentimento. Peço que as removam, bem como as imagens, dos vossos resultados de pesquisa.",
            "accuracy": "As informações deste pedido são exatas, tanto quanto sei.",
        },
        "phrases": {"nonconsensual": "sem o seu consentimento", "accuracy": "exatas"},
    },
}

_PERSONAL_INFO: dict[str, dict] = {
    "es": {
        "title": "SOLICITUD DE RETIRADA DE INFORMACIÓN PERSONAL DE LOS RESULTADOS DE BÚSQUEDA",
        "intro": "Les ruego que retiren de sus resultados de búsqueda las páginas indicadas a continuación, que "
        "muestran información personal de {subject} sin su consentimiento.",
        "subject": "[Información personal] Solicitud de retirada de resultados: {n} URL en {host}",
        "pages_show": "Las páginas muestran: {what}.",
        "doxxing_line": "Esta información se comparte para perjudicarme o ponerme en peligro (doxxing): {why}",
        "h": {
            "identification": "Páginas que muestran la información",
            "info_kind": "Qué información personal se muestra",
            "name_email": "Quién lo solicita",
            "accuracy": "Exactitud",
        },
        "statements": {"accuracy": "La información de esta solicitud es exacta a mi leal saber y entender."},
        "phrases": {"accuracy": "exacta"},
    },
    "fr": {
        "title": "DEMANDE DE RETRAIT D'INFORMATIONS PERSONNELLES DES RÉSULTATS DE RECHERCHE",
        "intro": "Je vous demande de retirer de vos résultats de recherche les pages indiquées ci-dessous, qui "
        "montrent des informations personnelles concernant {subject} sans son consentement.",
        "subject": "[Informations personnelles] Demande de déréférencement : {n} URL sur {host}",
        "pages_show": "Les pages montrent : {what}.",
        "doxxing_line": "Ces informations sont partagées pour me nuire ou me mettre en danger (doxxing) : {why}",
        "h": {
            "identification": "Pages qui montrent les informations",
            "info_kind": "Informations personnelles montrées",
            "name_email": "Auteur de la demande",
            "accuracy": "Exactitude",
        },
        "statements": {"accuracy": "Les informations de cette demande sont exactes à ma connaissance."},
        "phrases": {"accuracy": "exactes"},
    },
    "de": {
        "title": "ANTRAG AUF ENTFERNUNG PERSÖNLICHER INFORMATIONEN AUS SUCHERGEBNISSEN",
        "intro": "Ich bitte Sie, die unten aufgeführten Seiten, die ohne Einwilligung persönliche Informationen "
        "über {subject} zeigen, aus Ihren Suchergebnissen zu entfernen.",
        "subject": "[Persönliche Informationen] Entfernung aus Suchergebnissen: {n} URL(s) auf {host}",
        "pages_show": "Die Seiten zeigen: {what}.",
        "doxxing_line": "Diese Informationen werden geteilt, um mir zu schaden oder mich zu gefährden (Doxing): {why}",
        "h": {
            "identification": "Seiten, die die Informationen zeigen",
            "info_kind": "Welche persönlichen Informationen gezeigt werden",
            "name_email": "Wer den Antrag stellt",
            "accuracy": "Richtigkeit",
        },
        "statements": {"accuracy": "Die Angaben in diesem Antrag sind nach meinem besten Wissen zutreffend."},
        "phrases": {"accuracy": "zutreffend"},
    },
    "pt": {
        "title": "PEDIDO DE REMOÇÃO DE INFORMAÇÃO PESSOAL DOS RESULTADOS DE PESQUISA",
        "intro": "Peço que removam dos vossos resultados de pesquisa as páginas indicadas abaixo, que mostram "
        "informação pessoal sobre {subject} sem o seu consentimento.",
        "subject": "[Informação pessoal] Pedido de remoção de resultados: {n} URL em {host}",
        "pages_show": "As páginas mostram: {what}.",
        "doxxing_line": "Esta informação é partilhada para me prejudicar ou pôr em perigo (doxxing): {why}",
        "h": {
            "identification": "Páginas que mostram a informação",
            "info_kind": "Que informação pessoal é mostrada",
            "name_email": "Quem faz o pedido",
            "accuracy": "Exatidão",
        },
        "statements": {"accuracy": "As informações deste pedido são exatas, tanto quanto sei."},
        "phrases": {"accuracy": "exatas"},
    },
}

_BY_BASIS: dict[str, dict[str, dict]] = {
    "dmca": _DMCA,
    "dmca-512d": {lang: _dmca_search(lang) for lang in _DMCA},
    "take-it-down": _TAKE_IT_DOWN,
    "uk-osa": _UK_OSA,
    "ncii-policy": _NCII_POLICY,
    "search-delisting": _SEARCH_DELISTING,
    "personal-info": _PERSONAL_INFO,
}

# Where the official text of each basis is, for the review note of a translated notice; None:
# no official text exists in other languages (unleak's own translation, never confirmed).
OFFICIAL_SOURCE = {
    "dsa": "compare Art. 16(2)(d) of Regulation (EU) 2022/2065 on EUR-Lex in that language",
    "dmca": None,
    "dmca-512d": None,
    "take-it-down": None,
    "uk-osa": None,
    "ncii-policy": None,
    "search-delisting": None,
    "personal-info": None,
}
_GOVERNING = {
    "dmca": "17 U.S.C. §512(c)(3)(A) exists only in English",
    "dmca-512d": "17 U.S.C. §512(d)(3) exists only in English",
    "take-it-down": "the TAKE IT DOWN Act (Pub. L. 119-12) exists only in English",
    "uk-osa": "the Online Safety Act 2023 exists only in English",
    "ncii-policy": "the platform's policy may have its own wording in this language",
    "search-delisting": "the search engine's policy may have its own wording in this language",
    "personal-info": "the search engine's policy may have its own wording in this language",
}


def texts(basis: str, lang: str) -> dict:
    """The translated texts of one basis in one language: title, intro, subject, deadline, headings
    (`h`), statements and their required phrases, with the shared labels (COMMON) merged in.
    Empty for English (the templates in content.py and bases.py)."""
    if lang == "en" or lang not in LANGUAGES:
        return {}
    if basis == "dsa":
        return {**COMMON[lang], **DSA_TEXTS[lang], "statements": {"bona_fide": DSA_TEXTS[lang]["statement"]}}
    by_lang = _BY_BASIS.get(basis)
    if not by_lang or lang not in by_lang:
        return {}
    shared = {k: DSA_TEXTS[lang][k] for k in ("legal_basis", "date", "to", "from", "reference", "signed", "closing")}
    return {**COMMON[lang], **shared, **by_lang[lang]}


def statement_phrases(basis: str, lang: str, key: str) -> tuple[str, ...] | None:
    """The phrases a statement must hold in a translated notice; None for English (the basis's own)."""
    if basis == "dsa" and lang != "en" and lang in DSA_TEXTS and key == "bona_fide":
        return dsa_phrases(lang)
    phrases = (texts(basis, lang).get("phrases") or {}).get(key)
    return tuple(p.lower() for p in phrases.split("|")) if phrases else None


def is_confirmed(basis: str, lang: str) -> bool:
    """Whether the translated statutory wording was checked against an official text."""
    if lang == "en":
        return True
    return basis == "dsa" and OFFICIAL_CONFIRMED.get(lang, False)


def unconfirmed_note(basis: str, lang: str) -> str:
    """What the review says about a translated notice whose wording is not confirmed ("" if it is)."""
    if is_confirmed(basis, lang):
        return ""
    source = OFFICIAL_SOURCE.get(basis)
    if source:
        return (
            f"The statutory wording in this {lang} text is quoted as unleak's authors know the official "
            f"language version; it is not confirmed: {source} before confirming."
        )
    return (
        f"This {lang} text is unleak's own translation, not confirmed: {_GOVERNING.get(basis, 'the English text governs')}"
        ", so no official text is at hand to compare it with; have a speaker check it, or send it in English "
        "(--lang en) where the recipient reads English."
    )
