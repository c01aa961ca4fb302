"""Triage recall: people in danger write in many ways, and every one of them must reach 911.

Each test names a kind of danger and lists messages written the way people in distress
write them, in English, French, Spanish and Arabic (without accents, with typos, in
dialect: Levantine, Egyptian, Gulf, Maghrebi as well as MSA). They are not the phrases of
the rules: the rules of knowledge/triage.yaml must be general enough to catch them.

The other side is held too: ordinary questions that mention violence, fire, the police,
papers or medication in a general way are answered, not met with 911, and general
questions about status are answered, not handed to a volunteer. So is every question of
knowledge/calibration.yaml that expects an answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.triage import Triage, Verdict

ROOT = Path(__file__).resolve().parents[1]
RULES: dict[str, Any] = yaml.safe_load((ROOT / "knowledge" / "triage.yaml").read_text(encoding="utf-8"))
CALIBRATION: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8")
)
TRIAGE = Triage.from_rules(RULES)


def _assess(message: str) -> Verdict:
    return TRIAGE.assess(message)


def _cases(per_language: dict[str, list[str]]) -> list[Any]:
    """(message,) parameters, each with an id saying its language and its place."""
    return [
        pytest.param(message, id=f"{language}-{i}")
        for language, messages in per_language.items()
        for i, message in enumerate(messages)
    ]


def _assert_emergency(message: str, category: str) -> None:
    verdict = _assess(message)
    assert verdict == Verdict("emergency", category), (message, verdict)


# -- violence -------------------------------------------------------------------------

THREATS_TO_KILL = {
    "en": [
        "he's threatening to kill me and banging on the door",
        "My ex threatened to kill me last night and he knows where I live",
        "my husband said he will kill me when he gets home",
        "he keeps saying hes gonna kill us",
        "She threatend to kill my kids if I leave",
        "ive been getting death threats from my cousin's friends here in toronto",
        "he told me he'd kill me if i call anyone",
        "my landlord threatens to murder me",
        "they said they will kill my family if i dont pay",
        "he is going to murder me please help",
        "he threatened my life",
        "he said tonight he's going to finish me",
    ],
    "fr": [
        "Il menace de me tuer",
        "mon mari m'a menacée de mort hier soir",
        "il a dit qu'il allait me tuer",
        "il a menacé de tuer mes enfants",
        "je recois des menaces de mort de mon ancien patron",
        "Il essaye de me tuer",
        "jai peur il va me buter",
        "il menace de tuer mon fils",
        "il a dit qu'il va me tuer ce soir",
        "mon collègue menace de me tuer au travail",
    ],
    "es": [
        "Mi esposo me amenazó de muerte anoche",
        "me van a matar, ayúdenme",
        "amenazo con matar a mis hijos si lo dejo",
        "recibo amenazas de muerte de la pandilla aqui en montreal",
        "dice que nos va a matar a todos",
        "el papa de mis hijos me quiere matar",
        "me amenazó con un cuchillo",
        "me amenazaron de muerte ayer",
        "dijo que me va a matar si lo dejo",
        "mi compañero de trabajo dice que me va a matar",
    ],
    "ar": [
        "هددني انه رح يقتلني",
        "جوزي قال هيموتني لو خرجت من البيت",
        "بدو يقتلني وهو سكران هلق",
        "رح يذبحني اذا عرف اني حكيت",
        "غادي يقتلني راجلي",
        "تلقيت تهديدات بالقتل من عصابة هنا",
        "هدد بقتل اولادي",
        "سيقتلنا جميعا",
        "راجلي بغا يقتلني",
        "هددني بالذبح",
        "جوزي عايز يموتني",
        "زميلي بالشغل بيهددني بالقتل",
    ],
}


@pytest.mark.parametrize("message", _cases(THREATS_TO_KILL))
def test_a_threat_to_kill_in_any_tense_is_a_violence_emergency_in_four_languages(message: str) -> None:
    _assert_emergency(message, "violence")


BEING_HIT = {
    "en": [
        "he just punched me in the face",
        "my boyfriend beat me up and left",
        "He slapped me and pushed me down the stairs",
        "i got stabbed outside my building",
        "my stepdad hits my little brother every night",
        "someone attacked me on the bus",
        "im being beaten by my uncle",
        "my dad is beating my mom right now",
        "he grabbed me by the throat",
        "he pushed me and hit my head on the wall",
        "i was just raped",
    ],
    "fr": [
        "Mon conjoint m'a frappée",
        "il ma frappé encore",
        "mon mari vient de me gifler",
        "je me suis fait agresser devant chez moi",
        "il a battu ma fille",
        "il m'étrangle",
        "on m'a poignardé",
        "il m'a tabassée et il est encore là",
        "il m'a poussée dans les escaliers",
        "il ma donné des coups de poing",
        "je me suis fait violer",
    ],
    "es": [
        "mi pareja me pegó otra vez",
        "me golpeo mi esposo",
        "me dio una golpiza mi marido",
        "le esta pegando a mi hija",
        "fui atacada en la calle hace rato",
        "me agredio un hombre en el metro",
        "me está golpeando ayúdenme",
        "mi papá le pega a mi mamá ahorita",
        "mi pareja me aventó contra la pared",
        "me violaron",
    ],
    "ar": [
        "جوزي ضربني وانا حامل",
        "ابوي بيضرب اختي الصغيرة كل يوم",
        "عم يضربني هلق",
        "مد ايده علي",
        "خنقني وما قدرت اصرخ",
        "كيضربني راجلي",
        "ضربوني بالشارع",
        "جوزي بيضربني ومش قادرة اهرب",
        "زوجي ضرب راسي بالحيط",
        "مسكني من رقبتي",
        "اغتصبني",
    ],
}


@pytest.mark.parametrize("message", _cases(BEING_HIT))
def test_being_hit_or_attacked_now_or_just_now_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


WEAPONS = {
    "en": [
        "he's got a gun and he's drunk",
        "my brother pulled a knife on me",
        "there's a guy outside with a machete",
        "he has a knife to my throat",
        "someone is pointing a gun at us",
        "he grabbed a kitchen knife",
        "guys with guns outside the shelter",
        "hes outside with a bat threatening us",
        "someone is shooting outside my building",
    ],
    "fr": [
        "Mon conjoint m'a frappée et il a un couteau... aidez moi",
        "il a sorti une arme",
        "mon voisin est armé d'un couteau",
        "il tient un pistolet",
        "il a un flingue dans sa poche",
        "il m'a braquée",
        "un homme armé devant chez moi",
        "il m a menacé avec un couteau",
        "quelqu'un tire dans la rue",
    ],
    "es": [
        "tiene una pistola",
        "sacó un cuchillo",
        "me esta apuntando",
        "trae una navaja y esta borracho",
        "hay un hombre armado afuera",
        "oigo disparos en el edificio",
        "mi ex está afuera con una pistola",
        "hay un hombre con pistola afuera de la escuela",
        "me apuñaló",
    ],
    "ar": [
        "معه سكين",
        "طلع عليا بالموس",
        "ماسك ساطور وبيصرخ",
        "في رجل معه بندقية برا",
        "عم يطخ بالحارة",
        "اطلقوا النار علينا",
        "واحد ماسك مسدس قدام البيت",
        "في ناس مسلحين برا",
        "اطلقوا علينا النار",
    ],
}


@pytest.mark.parametrize("message", _cases(WEAPONS))
def test_a_weapon_at_hand_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


BREAKING_IN = {
    "en": [
        "someone is trying to break in",
        "a man broke into my apartment and is still here",
        "they are kicking my door down",
        "someone's trying to get in through the window",
        "there's a stranger in my house",
        "my ex is banging on the door and screaming",
        "my ex just showed up and is trying to kick in the door",
        "some men are trying to get into our apartment",
        "someone is trying to open my door",
    ],
    "fr": [
        "quelqu'un essaie d'entrer chez moi",
        "il défonce la porte",
        "mon ex est entré chez moi de force",
        "il y a un homme dans mon appartement",
        "ils cassent la fenêtre",
        "quelqu'un essaie de forcer ma porte",
        "il est entré par la fenêtre",
    ],
    "es": [
        "alguien está tratando de entrar a mi casa",
        "están pateando la puerta",
        "se metió un hombre a mi casa",
        "hay un hombre en mi casa",
        "quieren tumbar la puerta",
        "quieren entrar a la fuerza",
        "rompieron la ventana y se metieron",
    ],
    "ar": [
        "في حدا عم يكسر الباب",
        "حرامي دخل البيت",
        "شخص اقتحم شقتي",
        "واحد بيحاول يفتح الشباك",
        "في راجل غريب جوه الشقة",
        "في ناس عم يحاولوا يفوتوا عالبيت",
        "حد حاول يدخل الشقه بالقوه",
        "كسروا الباب ودخلوا",
    ],
}


@pytest.mark.parametrize("message", _cases(BREAKING_IN))
def test_someone_breaking_in_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


FOLLOWED_OR_HELD = {
    "en": [
        "a man has been following me for 20 minutes",
        "my ex is stalking me and he is outside",
        "he locked me in the bedroom",
        "my boss took my passport and won't let me leave the house",
        "I'm being held against my will",
        "we are trapped in the basement",
        "my employer keeps me locked in the house",
        "we are being held by smugglers",
        "he's forcing me to stay in the room",
    ],
    "fr": [
        "un homme me suit depuis la station de métro",
        "il m'a enfermée dans la chambre",
        "il ne me laisse pas sortir de l'appartement",
        "je suis séquestrée",
        "on me suit, j'ai peur",
        "il m'enferme à clé dans la chambre",
        "mon patron m'empêche de sortir",
        "il me séquestre chez lui",
    ],
    "es": [
        "un tipo me viene siguiendo",
        "me tiene encerrada en el cuarto",
        "no me deja salir de la casa",
        "me estan siguiendo en un carro",
        "estoy encerrada y no puedo salir",
        "me tiene amarrada",
        "mi jefe me encierra en el trabajo",
        "un hombre me persigue",
    ],
    "ar": [
        "في واحد ماشي ورايا من ساعة",
        "حابسني في البيت",
        "قفل علي الباب بالمفتاح",
        "ما بيخليني اطلع من البيت",
        "في رجل يلاحقني",
        "كفيلي حابسني في البيت وماخذ جوازي",
        "المهربين حابسينا",
        "حد بيراقبني وماشي ورايا",
    ],
}


@pytest.mark.parametrize("message", _cases(FOLLOWED_OR_HELD))
def test_being_followed_held_or_locked_in_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


FEAR_FOR_ONES_LIFE_NOW = {
    "en": [
        "I fear for my life, he's drunk and yelling",
        "im scared for my life he has my passport and is screaming",
        "my life is in danger, he is looking for me",
    ],
    "fr": [
        "je crains pour ma vie il est violent",
        "j'ai peur pour ma vie, il me cherche",
        "ma vie est en danger, il sait où j'habite",
    ],
    "es": [
        "temo por mi vida, mi esposo es violento",
        "tengo miedo por mi vida, me está buscando",
        "mi vida corre peligro, sabe donde vivo",
    ],
    "ar": [
        "خايفة على حياتي زوجي عنيف",
        "انا خايف على حياتي هو عم يدور علي",
        "حياتي في خطر هو بيعرف وين ساكنة",
    ],
}


@pytest.mark.parametrize("message", _cases(FEAR_FOR_ONES_LIFE_NOW))
def test_fearing_for_ones_life_now_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


CHILD_IN_DANGER = {
    "en": [
        "my daughter is missing, she's 6",
        "I can't find my son at the mall",
        "someone grabbed my kid",
        "my 4 year old is missing",
        "my stepfather is hurting my son",
        "my kids are in danger right now, he's drunk",
        "my 3 year old is missing at the park",
        "a stranger took my daughter",
        "my child was taken by a stranger",
    ],
    "fr": [
        "ma fille a disparu",
        "je trouve plus mon fils",
        "quelqu'un a enlevé mon bébé",
        "mes enfants sont en danger en ce moment",
        "mon conjoint frappe les enfants",
        "ma fille de 5 ans a disparu",
        "il frappe mes enfants en ce moment",
    ],
    "es": [
        "mi hijo desapareció",
        "no encuentro a mi niña",
        "se llevaron a mi bebe",
        "mi esposo le pega a los niños",
        "mis hijos estan en peligro ahora",
        "mi hija de 3 años se perdió",
        "alguien se llevó a mi hijo",
        "mi padrastro viola a mi hija",
    ],
    "ar": [
        "ابني مفقود من الصبح",
        "بنتي ضاعت بالمول",
        "مش لاقي ابني",
        "خطفوا ابني",
        "اولادي في خطر الحين",
        "ابني ضايع",
        "ولدي مالقيتوش",
        "حد خطف ابني من قدام المدرسة",
    ],
}


@pytest.mark.parametrize("message", _cases(CHILD_IN_DANGER))
def test_a_child_in_danger_or_missing_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


CRIES_FOR_HELP = {
    "en": ["please call the police", "somebody call 911", "HELP!!!", "someone help me please"],
    "fr": ["au secours", "appelez la police svp", "à l'aide!"],
    "es": ["¡auxilio!", "llamen a la policía por favor", "socorro, ayuda"],
    "ar": ["الحقوني", "اتصلوا بالشرطة بسرعة", "النجدة"],
}


@pytest.mark.parametrize("message", _cases(CRIES_FOR_HELP))
def test_a_cry_for_help_or_a_call_for_the_police_is_a_violence_emergency(message: str) -> None:
    _assert_emergency(message, "violence")


# -- what was done to a person before they came here -----------------------------------

PERSECUTION_TOLD_FOR_ASYLUM = {
    "en": [
        "I was beaten by the police in my country. Can I claim asylum in Canada?",
        "Gangs threatened to kill me in Honduras, can I ask for refugee protection?",
        "my husband used to hit me back home and I fled, does that count for a refugee claim",
        "the cartel said they will kill me if I am deported to Mexico, what are my options",
        "I was attacked in my country because I am gay",
    ],
    "fr": [
        "J'ai été menacé de mort dans mon pays, est-ce que je peux demander l'asile?",
        "mon mari me battait au Congo, j'ai fui avec mes enfants, est ce que ca compte",
        "si je suis renvoyé dans mon pays ils vont me tuer, comment demander la protection",
    ],
    "es": [
        "Mi esposo me pegaba en México, ¿puedo pedir asilo?",
        "las pandillas me amenazaron de muerte en mi pais, puedo pedir refugio",
        "si me deportan me matan, que puedo hacer",
    ],
    "ar": [
        "ضربني زوجي في سوريا وهربت، هل يحق لي اللجوء؟",
        "رح يقتلوني إذا رجعت على بلدي، هل بقدر اطلب لجوء؟",
        "هددوني بالقتل في بلدي قبل ما اجي على كندا",
    ],
}


@pytest.mark.parametrize("message", _cases(PERSECUTION_TOLD_FOR_ASYLUM))
def test_violence_told_as_what_happened_in_another_country_is_not_a_911_emergency(message: str) -> None:
    # 911 cannot help there; the person needs the answer, or a volunteer, about asylum.
    assert _assess(message).kind != "emergency", message


@pytest.mark.parametrize(
    "message",
    [
        "Gangs threatened to kill me in Honduras, can I claim asylum in Canada?",
        "J'ai été menacé de mort dans mon pays, est-ce que je peux demander l'asile?",
        "Mi esposo me pegaba en México, ¿puedo pedir asilo?",
        "ضربني زوجي في سوريا وهربت، هل يحق لي اللجوء؟",
    ],
)
def test_what_was_done_to_a_person_elsewhere_with_a_question_goes_to_a_person(message: str) -> None:
    # Whether that story makes a claim is for a person to weigh, not for general rules.
    assert _assess(message) == Verdict("handoff"), message


def test_a_story_from_elsewhere_without_a_question_is_neither_911_nor_a_handoff() -> None:
    assert _assess("I was attacked in my country because I am gay").kind == ""


DANGER_THAT_FOLLOWED_THEM_HERE = {
    "en": [
        "the man who beat me in my country is here, he is outside my door right now",
        "he threatened to kill me back home and now he is threatening to kill me here tonight",
    ],
    "fr": ["il m'a frappée dans mon pays, il est ici maintenant et il me menace de mort"],
    "es": ["me golpeaba en mi pais y ahora me esta golpeando otra vez aqui"],
    "ar": ["كان يضربني في بلدي وهلق عم يضربني"],
}


@pytest.mark.parametrize("message", _cases(DANGER_THAT_FOLLOWED_THEM_HERE))
def test_danger_said_to_be_here_or_now_is_an_emergency_wherever_it_began(message: str) -> None:
    _assert_emergency(message, "violence")


# Words that also tell of a home, a kitchen or a partner here ("back home", "when I was
# in", "I fled", "if I go back") do not place the danger elsewhere.
DANGER_HERE_IN_WORDS_THAT_COULD_TELL_OF_ELSEWHERE = {
    "en": [
        "He beat me before I came to the shelter",
        "When I was in the kitchen he hit me with a knife",
        "If I go back home he will kill me",
        "My husband beat me and I fled to my sister's",
        "If I return to my apartment he will kill me",
    ],
    "fr": ["Quand j'étais dans la cuisine il m'a frappée", "si je rentre chez moi il va me tuer"],
    "es": ["Cuando estaba en la casa me golpeó", "Él está allá afuera con un cuchillo"],
    "ar": ["لما كنت في البيت ضربني زوجي", "هربت من البيت لأنه ضربني"],
}


@pytest.mark.parametrize("message", _cases(DANGER_HERE_IN_WORDS_THAT_COULD_TELL_OF_ELSEWHERE))
def test_danger_told_in_words_that_could_also_tell_of_elsewhere_still_reaches_911(message: str) -> None:
    _assert_emergency(message, "violence")


def test_suicide_is_never_placed_elsewhere() -> None:
    _assert_emergency("if I am deported back to my country I will kill myself", "suicide")


# -- fire, gas, poison: 911 (the medical reply, without 9-8-8) -----------------------

FIRE = {
    "en": [
        "there is a fire in my building",
        "my kitchen is on fire",
        "the apartment caught fire",
        "theres smoke everywhere and i cant get out",
        "the house is burning",
        "fire in the basement of the shelter",
        "our apartment is filled with smoke",
        "the dryer caught fire",
        "fire!! please help",
    ],
    "fr": [
        "il y a le feu dans mon immeuble",
        "au feu",
        "la cuisine a pris feu",
        "mon appart est en feu",
        "il y a de la fumée partout",
        "le feu a pris dans la cuisine",
        "la maison est pleine de fumée",
        "la maison brûle",
    ],
    "es": [
        "hay un incendio",
        "se está quemando mi casa",
        "hay fuego en el edificio",
        "mi departamento está en llamas",
        "llamen a los bomberos",
        "está saliendo humo de la cocina",
        "hay humo en todo el edificio",
        "se incendió la cocina",
    ],
    "ar": [
        "في حريق بالبناية",
        "البيت عم يحترق",
        "المطبخ ولع",
        "فيه حريقه في العماره",
        "الشقة فيها نار",
        "النار ماسكة في المطبخ",
        "ولع البيت",
        "الحريقه في الطابق الاول",
        "الشقة كلها دخان",
    ],
}


@pytest.mark.parametrize("message", _cases(FIRE))
def test_a_fire_is_an_emergency_with_911(message: str) -> None:
    _assert_emergency(message, "medical")


GAS = {
    "en": [
        "I smell gas in my apartment",
        "the carbon monoxide alarm is going off",
        "gas leak in the kitchen",
        "i smell gas and feel sick",
    ],
    "fr": [
        "ça sent le gaz",
        "fuite de gaz chez moi",
        "le détecteur de monoxyde sonne",
        "il y a une odeur de gaz très forte",
    ],
    "es": [
        "huele a gas en mi casa",
        "hay una fuga de gas",
        "suena la alarma de monóxido",
        "huele mucho a gas",
    ],
    "ar": [
        "في ريحة غاز قوية بالبيت",
        "تسرب غاز في المطبخ",
        "جهاز أول أكسيد الكربون عم يزمر",
        "في غاز بيطلع من الفرن وريحته قوية",
    ],
}


@pytest.mark.parametrize("message", _cases(GAS))
def test_a_gas_leak_or_carbon_monoxide_is_an_emergency_with_911(message: str) -> None:
    _assert_emergency(message, "medical")


POISONING = {
    "en": [
        "my son drank bleach",
        "the baby swallowed a battery",
        "my toddler ate a laundry pod",
        "she drank some cleaning liquid",
        "I think my kid got into the rat poison",
        "my kid drank windshield washer fluid",
        "my daughter drank nail polish remover",
        "the kid got into the cleaning cupboard and drank something",
    ],
    "fr": [
        "ma fille a bu de l'eau de javel",
        "mon fils a avalé une pile",
        "il a bu du produit ménager",
        "le bébé a mangé de la mort aux rats",
        "mon fils a bu un produit nettoyant et vomit",
        "le petit a bu du détergent",
    ],
    "es": [
        "mi hijo se tomó el cloro",
        "el niño tomó cloro",
        "mi bebé se tragó una pila",
        "se bebió limpiador",
        "mi hija tomó veneno para ratas",
        "el niño se comió veneno para cucarachas",
        "mi hijo bebió cloro por accidente",
    ],
    "ar": [
        "ابني بلع منظف",
        "بنتي شربت كلور",
        "الولد شرب من الكلوركس",
        "ابني اكل سم فيران",
        "ابني شرب جافيل",
        "ابني شرب سائل تنظيف وعم يستفرغ",
        "ابني شرب مبيد حشرات",
    ],
}


@pytest.mark.parametrize("message", _cases(POISONING))
def test_swallowing_a_poison_or_a_cleaning_product_is_a_medical_emergency(message: str) -> None:
    _assert_emergency(message, "medical")


# -- overdose: deliberate (first person) is suicide, someone else's is medical ---------

OWN_OVERDOSE = {
    "en": [
        "I took a whole bottle of pills",
        "i swallowed all my sleeping pills",
        "just took like 30 tylenol",
        "I've taken a bunch of my antidepressants",
        "I took the whole box",
        "i swallowed 50 pills",
        "took a handful of sleeping pills",
        "I overdosed on purpose",
        "took my whole prescription",
    ],
    "fr": [
        "j'ai pris toute la boîte de médicaments",
        "j'ai avalé tous mes cachets",
        "je viens d'avaler 20 comprimés",
        "jai pris plein de somnifères",
        "j'ai pris tous mes médicaments pour en finir",
        "j'ai avalé une boîte de somnifères",
        "j'ai pris une grosse quantité de médicaments pour mourir",
    ],
    "es": [
        "me tomé todas las pastillas",
        "me tome un frasco entero de pastillas",
        "tomé muchas pastillas para dormir",
        "acabo de tomarme 30 pastillas",
        "me tomé como 20 pastillas",
        "me trague un montón de pastillas",
        "me quiero tomar todas las pastillas",
    ],
    "ar": [
        "بلعت كل الحبوب",
        "اخذت علبة دوا كاملة",
        "خدت شريط برشام كامل",
        "شربت بزاف ديال الدوا",
        "بلعت كل الدوا اللي عندي",
        "خديت علبة بنادول كاملة",
        "اخذت كمية كبيرة من الدواء لانهي حياتي",
    ],
}


@pytest.mark.parametrize("message", _cases(OWN_OVERDOSE))
def test_a_deliberate_overdose_told_in_the_first_person_is_a_suicide_emergency(message: str) -> None:
    _assert_emergency(message, "suicide")


OTHERS_OVERDOSE = {
    "en": [
        "my mom swallowed a lot of her heart pills",
        "my friend took too many xanax",
        "the baby ate my vitamins",
        "my brother took 40 of his pills",
        "my friend took a lot of pills and is sleepy",
        "my mom took too much insulin",
    ],
    "fr": [
        "mon fils a avalé toute la boîte de médicaments",
        "ma mère a pris trop de cachets",
        "le bébé a mangé des pilules",
        "mon ami a pris trop de pilules",
    ],
    "es": [
        "mi hermano se tomó todas las pastillas",
        "mi mamá tomó muchas pastillas",
        "el niño se comió unas pastillas",
        "mi primo tomo demasiadas pastillas",
        "mi hijo se tomó un frasco de pastillas",
    ],
    "ar": [
        "ابني بلع حبوب",
        "اخوي بلع علبة دوا كاملة",
        "البيبي اكل من الحبوب",
        "ابني اكل حبوب امه",
    ],
}


@pytest.mark.parametrize("message", _cases(OTHERS_OVERDOSE))
def test_someone_else_swallowing_many_pills_is_a_medical_emergency(message: str) -> None:
    _assert_emergency(message, "medical")


OTHERS_SUICIDE = {
    "en": [
        "my sister is trying to kill herself",
        "my roommate said he wants to end his life",
        "my girlfriend slit her wrists",
    ],
    "fr": [
        "mon frère veut se tuer",
        "ma copine a dit qu'elle allait se pendre",
        "mon frère a essayé de se pendre",
    ],
    "es": [
        "mi amigo quiere quitarse la vida",
        "mi hermana intento matarse",
        "mi hermana se cortó las venas",
    ],
    "ar": [
        "اخوي بدو يقتل حاله",
        "صاحبتي تحاول تقتل نفسها",
        "اخوي حاول ينتحر",
        "اختي قطعت شرايينها",
    ],
}


@pytest.mark.parametrize("message", _cases(OTHERS_SUICIDE))
def test_someone_else_wanting_to_die_is_a_suicide_emergency(message: str) -> None:
    _assert_emergency(message, "suicide")


# -- a personal status question goes to a volunteer ------------------------------------

UNDOCUMENTED_ASKING = {
    "en": [
        "I'm undocumented, will I qualify?",
        "I have no status in Canada, can the regularization program help me",
        "my visa ran out two years ago and I'm still here, what can I do",
        "I crossed illegally last year, am I eligible for asylum",
        "I don't have papers, what will happen to me if I get caught",
        "I overstayed my visa and want to know if I qualify",
        "I'm undocumented, is it possible for me to stay",
    ],
    "fr": [
        "Je suis sans papiers, est-ce que je peux être régularisé?",
        "jsuis sans statut depuis 3 ans est ce que je peux rester",
        "Mon visa est fini depuis l'an dernier, qu'est-ce qui va m'arriver",
        "je n'ai plus de papiers, ai-je droit au programme",
        "j'ai dépassé la date de mon visa, que faire",
        "je suis en situation irrégulière, ai-je le droit de travailler",
        "je suis clandestin au Canada, est-ce que je peux être expulsé?",
    ],
    "es": [
        "Soy indocumentado, ¿califico?",
        "no tengo papeles, me pueden deportar",
        "se me venció la visa hace un año, que me va a pasar",
        "estoy sin estatus, hay alguna forma de quedarme",
        "Crucé ilegal, puedo pedir asilo",
        "estoy sin papeles, es posible quedarme",
        "me quedé más tiempo del permitido, califico",
    ],
    "ar": [
        "ما عندي اوراق، شو بصير فيي",
        "انا بدون اقامة من سنتين، هل ممكن اقدم؟",
        "فيزتي خلصت وانا لسه هون، شو لازم اعمل",
        "انا مخالف للاقامة، هل يشملني البرنامج الجديد",
        "دخلت كندا بطريقة غير شرعية، هل يحق لي اللجوء",
        "تجاوزت مدة الفيزا، شو رح يصير فيي",
        "خسرت وضعي القانوني، هل ما زلت استطيع البقاء؟",
    ],
}


@pytest.mark.parametrize("message", _cases(UNDOCUMENTED_ASKING))
def test_being_undocumented_or_out_of_status_and_asking_what_to_do_is_handed_to_a_person(message: str) -> None:
    assert _assess(message) == Verdict("handoff"), message


# -- and what must not be mistaken for danger ------------------------------------------

GENERAL_QUESTIONS = {
    "en": [
        "Does the Interim Federal Health Program cover medication?",
        "Can I get a work permit if I was a victim of violence?",
        "What happens if my claim is refused?",
        "Can victims of domestic violence get a special permit?",
        "Is it safe to call the police if I have no status?",
        "What should I do if there is a fire in the shelter?",
        "How many people were killed in Gaza?",
        "Can people threatened by gangs in their country claim asylum?",
        "Does IFHP pay for prescription drugs and pills?",
        "Can I bring my kitchen knives when I move to Canada?",
        "Is there a break in my residence if I travel?",
        "My sponsor kicked me out, what can I do?",
        "IRCC is not responding to my emails",
        "How many migrants drowned crossing the Mediterranean?",
        "Can the police enter my home without a warrant?",
        "Will the new rules hit us hard?",
        "How to report a stalker to police?",
        "I fear for my life if I am sent back to Honduras, can I claim asylum?",
        "My husband sponsors me but threatens me, can I leave?",
        "Can I take my meds with me on the plane to Canada?",
        "What is the number for poison control?",
        "How to break into the Canadian job market as a newcomer",
        "My friend is a firefighter, can he sponsor me?",
    ],
    "fr": [
        "Le PFSI couvre-t-il les médicaments?",
        "Est-ce que les victimes de violence conjugale peuvent avoir un permis?",
        "Que se passe-t-il si ma demande est refusée?",
        "Combien de personnes ont été tuées à Gaza?",
        "Les demandeurs d'asile ont-ils droit à l'aide sociale?",
        "Que faire en cas d'incendie dans un refuge?",
        "Le cessez-le-feu à Gaza a-t-il changé le programme?",
        "Mon travailleur social qui me suit dit que je dois attendre",
        "Est-ce que l'enfermement des demandeurs d'asile est légal?",
        "L'IRCC ne répond pas à mes courriels",
        "Les Forces armées acceptent-elles les résidents permanents?",
        "Est-ce que l'ASFC peut entrer chez moi?",
        "Les délais me tuent, quand vais-je avoir une réponse?",
        "Je crains pour ma vie si je retourne en Haïti, puis-je demander l'asile?",
        "Est-ce que je peux prendre mes médicaments dans l'avion?",
        "Est-ce que les pompiers recrutent des immigrants?",
    ],
    "es": [
        "¿El PFSI cubre medicamentos?",
        "¿Qué pasa si mi visa está vencida?",
        "¿Las víctimas de violencia doméstica pueden pedir un permiso?",
        "¿Puede la policía entrar a mi casa sin orden?",
        "¿Cuántos muertos hay en Gaza?",
        "¿Qué hago si pierdo mis papeles en un incendio?",
        "¿Los solicitantes de asilo pueden portar armas?",
        "¿Qué hace el Organismo de Socorro de la ONU?",
        "¿Las Fuerzas Armadas aceptan residentes permanentes?",
        "Migración no responde mis correos",
        "¿Tomo mis pastillas antes del examen médico?",
        "los golpes de Estado obligan a la gente a huir",
        "Los trámites me están matando, ¿cuándo me responden?",
        "Mi esposo me patrocina pero me amenaza, ¿puedo irme?",
        "¿Por qué se incendió el centro de detención en Juárez?",
        "me tomo mis pastillas todos los días, ¿las cubre el PFSI?",
        "¿Dónde tomo un curso de primeros auxilios?",
    ],
    "ar": [
        "هل يغطي برنامج الصحة الفيدرالي المؤقت الأدوية؟",
        "هل يمكن لضحايا العنف الأسري الحصول على تصريح عمل؟",
        "ماذا يحدث إذا رفض طلب اللجوء؟",
        "هل يمكنني أخذ الدواء مجانا؟",
        "كم عدد الذين قتلوا في غزة؟",
        "هل هناك وقف لإطلاق النار في غزة؟",
        "هل يحق للمهددين بالقتل في بلدهم طلب اللجوء؟",
        "دائرة الهجرة لا ترد على رسائلي",
        "كم سعر قلم رصاص في المكتبة",
        "هل تغطي المساعدة الأكل والدواء؟",
        "كم دينار هنا ثمن التذكرة؟",
        "المعاملات عم تقتلني، امتى بيردوا علي؟",
        "هل تقدر الهجرة تدخل بيتي؟",
        "وين بقدر اخد دورة اسعافات اولية؟",
        "كيف ابلغ الشرطة عن شخص بيلاحقني على الانترنت؟",
        "زوجي كفيلي بس بيهددني، هل بقدر اتركه؟",
        "اخاف على حياتي اذا رجعت لسوريا، هل اقدر اطلب لجوء؟",
    ],
}


@pytest.mark.parametrize("message", _cases(GENERAL_QUESTIONS))
def test_an_ordinary_question_that_mentions_violence_fire_police_or_medication_is_not_an_emergency(
    message: str,
) -> None:
    assert _assess(message).kind != "emergency", (message, _assess(message))


GENERAL_STATUS_QUESTIONS = {
    "en": [
        "How many undocumented people live in Canada?",
        "Will the regularization program include people without status?",
        "Can people whose visa expired apply for asylum?",
        "What happens to visitors who overstay their visa?",
        "Is it illegal to cross the border between ports of entry?",
    ],
    "fr": [
        "Combien de sans-papiers vivent au Québec?",
        "Le programme de régularisation inclura-t-il les personnes sans statut?",
        "Que risquent les personnes en situation irrégulière?",
        "Les étudiants restés après l'expiration de leur visa seront-ils régularisés?",
    ],
    "es": [
        "¿Cuántos indocumentados hay en Canadá?",
        "¿Qué pasa con las personas sin papeles que piden asilo?",
        "¿Los que tienen la visa vencida pueden regularizarse?",
        "¿Es ilegal cruzar la frontera fuera de un puerto de entrada?",
    ],
    "ar": [
        "كم عدد المقيمين بلا وثائق في كندا؟",
        "هل سيشمل برنامج التسوية الأشخاص الذين ليس لديهم وضع قانوني؟",
        "هل يستطيع من انتهت تأشيرته طلب اللجوء؟",
        "ما عقوبة دخول كندا بطريقة غير شرعية؟",
    ],
}


@pytest.mark.parametrize("message", _cases(GENERAL_STATUS_QUESTIONS))
def test_a_general_question_about_status_is_answered_not_handed_off(message: str) -> None:
    assert _assess(message) == Verdict(""), (message, _assess(message))


ANSWERABLE = [
    pytest.param(case["q"], id=f"{case['lang']}-{i}")
    for i, case in enumerate(CALIBRATION)
    if case["expect"] in ("answer", "no_answer")
]


@pytest.mark.parametrize("question", ANSWERABLE)
def test_no_calibration_question_that_expects_an_answer_is_an_emergency(question: str) -> None:
    assert _assess(question).kind != "emergency", (question, _assess(question))
