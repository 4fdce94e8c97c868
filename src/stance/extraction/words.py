"""The word lists the extractor reads English news and transcripts with: data only, no logic.

Kept as a Python module rather than a JSON or text file: it ships and loads with the code (no
package-data or loader), each list keeps the comment that says what it is for, and the patterns that
use these words are built from them in :mod:`.attribution`, :mod:`.sentences` and :mod:`.speakers`.
Words are matched case-sensitively unless a list says otherwise.
"""
from __future__ import annotations

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

# Speech verbs whose reported clause may follow without "that" ("X said the talks failed").
BARE_SPEECH_VERBS = ("said", "says", "say", "told", "tells", "added", "adds", "insisted", "insists",
                     "argued", "argues", "claimed")
# Speech verbs whose reported clause needs "that" ("X warned that ..."); also used for direct quotes.
THAT_SPEECH_VERBS = ("wrote", "writes", "tweeted", "warned", "warns", "commented", "stated", "noted", "explained",
                     "declared", "stressed", "asserted", "announced", "replied", "responded", "reiterated",
                     "emphasised", "emphasized",
                     "acknowledged", "admitted", "confirmed", "asked", "continued", "conceded",
                     "complained", "suggested", "described", "describes")
# Participles that introduce reported speech after a comma ("..., arguing that ...").
SPEECH_PARTICIPLES = ("arguing", "saying", "adding", "insisting", "warning", "claiming", "noting", "stressing",
                      "explaining", "asserting", "declaring")
# Words in -ing that do not start a participle phrase to trim from a reported clause.
NOT_PARTICIPLES = ("during", "including", "according", "something", "nothing", "anything", "everything", "bring",
                   "thing", "king", "spring", "evening", "morning")
# Words in -ly that are not adverbs (an adverb between subject and verb is dropped: "X repeatedly said").
NOT_ADVERBS = ("ally", "family", "rally", "assembly", "july", "italy", "bully")
# Lower-case words that may start an adjunct between a speech verb and "that" ("said on Monday that").
ADJUNCT_STARTS = frozenset("on in at to during after before from via through over while when last this "
                           "earlier later late yesterday today tonight separately also again repeatedly "
                           "previously publicly privately recently".split())

# Words that tell a person's gender (lower case).
FEMALE_WORDS = frozenset("she her spokeswoman ms ms. mrs mrs. miss madam chairwoman congresswoman "
                         "businesswoman woman queen princess lady".split())
MALE_WORDS = frozenset("he his spokesman mr mr. chairman congressman businessman man king prince sir "
                       "lord".split())
# Nouns that name a person by office (lower case): "the spokeswoman said".
PERSON_TITLES = frozenset(
    "spokesman spokeswoman spokesperson minister president secretary official ambassador attache "
    "envoy chief leader head premier chancellor diplomat general commander senator governor mayor "
    "lawmaker adviser advisor aide director chairman chairwoman representative deputy officer "
    "prosecutor judge negotiator king queen".split())
# Nouns that name an institution (lower case): "the ministry said".
BODY_NOUNS = frozenset("ministry government kremlin embassy agency department office council "
                       "administration army military pentagon parliament committee company "
                       "country state union alliance service bank court commission "
                       "organisation organization party coalition cabinet regime".split())
# Lower-case words a speaker's description may be made of ("the acting defence minister").
DESCRIPTION_WORDS = PERSON_TITLES | frozenset("the a an foreign defence defense acting opposition ministry "
                                              "senior former interim prime vice".split())
# Lower-case words of a role phrase before a name ("Russian foreign ministry spokeswoman").
ROLE_WORDS = DESCRIPTION_WORDS | BODY_NOUNS | frozenset(
    "state national security defense defence press foreign interior finance affairs of general "
    "assistant under acting top senior military armed forces white house".split()) - frozenset("the a an".split())

# Capitalised words that precede a name without being part of it ("Secretary", "Mr").
NAME_TITLES = frozenset(
    "Mr Mrs Ms Dr Miss Sir Madam President Vice Premier Minister Secretary Spokesman Spokeswoman "
    "Spokesperson Senator Sen Rep Representative Gov Governor Gen Adm Admiral Col Colonel Lt Capt "
    "Chancellor Ambassador Envoy Deputy Chief Mayor Chairman Chairwoman Director Leader Commander "
    "King Queen Pope State Acting General".split())
# Capitalised words that make a name an institution ("United States", "Foreign Ministry").
BODY_NAME_WORDS = frozenset(
    "States Nations Union House Ministry Department Council Agency Office Party Government Army "
    "Force Forces Committee Bank Organization Organisation Commission Court Parliament Assembly "
    "Kremlin Pentagon Federation Republic Kingdom Emirates Guard Navy Police Service Institute "
    "University Fund Group Company Corporation Inc Ltd Times Post News Press Embassy".split())
# One-word names of countries, capitals and news agencies, which speak as bodies ("Russia said").
PLACES_AND_AGENCIES = frozenset(
    "Russia China Ukraine Venezuela Iran Iraq Syria Israel Turkey Germany France Britain Japan "
    "India Pakistan Cuba Mexico Brazil Colombia Canada Poland Belarus Georgia Armenia Azerbaijan "
    "Moscow Washington Beijing Kyiv Kiev London Paris Berlin Tehran Damascus Havana Ankara "
    "Tokyo Brussels Europe America Interfax Reuters TASS Tass RIA Xinhua Bloomberg Nato".split())
# Capitalised words that start a sentence or clause, not a name.
NOT_NAME_STARTS = frozenset(
    "The A An In On At As But And Or If When While After Before Since Speaking According Asked He "
    "She It They We I This That These Those His Her Their Our Its Meanwhile However Also Last Next "
    "Earlier Later Dismissing Despite Under With Without By For From To Of".split())
# Lower-case prepositions: "the attache in Moscow" is not Moscow; a clause never starts with one.
PREPOSITIONS = frozenset("in of at for from to on with by about".split())
# Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = frozenset("Mr Mrs Ms Dr St Jr Sr Gen Lt Col Sgt Capt Gov Sen Rep Prof No Adm Maj Jan Feb "
                          "Mar Apr Aug Sept Sep Oct Nov Dec vs etc approx Inc Ltd Co Corp Rev".split())
# Abbreviated titles written with a full stop inside a name ("Mr. Kirby").
DOTTED_TITLES = ("Mr", "Mrs", "Ms", "Dr", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Capt", "Adm", "St", "Jr", "Sr")
# Particles inside a name ("Ursula von der Leyen").
NAME_PARTICLES = ("de", "da", "del", "della", "di", "van", "von", "der", "den", "bin", "al", "el", "la", "le",
                  "dos", "du", "ibn")
# Words that start a transcript speaker label ("MR. KIRBY:", "THE PRESIDENT:").
SPEAKER_LABEL_STARTS = ("MR", "MS", "MRS", "DR", "THE", "SECRETARY", "ADMIRAL", "GENERAL", "GEN", "AMBASSADOR",
                        "SENATOR", "PRESIDENT", "MODERATOR", "SPOKESPERSON", "SPOKESMAN", "MINISTER", "PRIME",
                        "OPERATOR")
