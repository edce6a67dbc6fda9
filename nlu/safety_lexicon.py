"""The safety net's lexicon: phrases that make a message urgent whatever the model says.

Patterns are regular expressions over the safety net's normal form (see
`nlu.safety_net.prepare`): lowercase, apostrophes and punctuation dropped,
shorthand expanded ("gonna" -> "going to", "u" -> "you", "im" -> "i am",
"dont" -> "do not"), digits inside words read as letters ("k1ll" -> "kill"),
single spaces between words.

The costs are lopsided: a false alarm shows a student safety information they
did not need; a miss can cost a life. So patterns lean wide, and only phrases
that are almost always harmless are blanked out first (a nerf gun, a burner
account, a mom who will "kill me" over a report card). Each rule has an id
that says why it fired; the id, never the matched text, is what the rest of
the system sees.
"""

from __future__ import annotations

# --- Reusable pieces -------------------------------------------------------

_W = r"(?:\w+ )"  # one word and its space, for "within a few words" windows
_PEOPLE = (
    r"(?:him|her|them|you|yall|you all|everyone|everybody|people|someone|somebody|anyone|anybody|whoever"
    r"|this kid|that kid|a kid|the kid|kids|the kids|this guy|that guy|the guy|the teacher|a teacher|teachers"
    r"|the teachers|my teacher|our teacher|the principal|the vp|students|the students|the school|this school"
    r"|our school|us|my friend|my family|his family|her family|my brother|my sister|my little brother"
    r"|my little sister|the whole school|all of (?:you|them|us)|them all|all the \w+|the \w+ who \w+|ppl|my \w+"
    r"|me|the next person|the next one|whoever)"
)
_FUTURE = (
    r"(?:going to|will|would|want to|wants to|wanted to|trying to|tryna|try to|finna|about to|plans? to"
    r"|planning to|plan on|swore to|swears to|promised to|gotta|need to|is going to|are going to|threatened to"
    r"|threatening to|threatens to|says he will|said he would|said she would|said they would|talks about|talking about"
    r"|keeps talking about|joking about|jokes about|fantasizes about|dreams about)"
)
_VIOLENCE = (
    r"(?:kill|killing|murder|murdering|shoot|shooting|stab|stabbing|shank|shanking|blast|blasting|smoke|pop|clap"
    r"|slide on|body|bomb|bombing|blow up|blowing up|hurt|hurting|slit|burn|burning|light|lighting|attack|attacking"
    r"|gun down|wipe out|end|finish)"
)
_ADULT = (
    r"(?:dad|daddy|father|mom|mommy|mother|mum|stepdad|step dad|stepfather|step father|stepmom|step mom|stepmother"
    r"|step mother|uncle|aunt|auntie|grandpa|grandfather|grandma|grandmother|parents?|guardian|foster \w+"
    r"|(?:mom|moms|mother|mothers|mums?) (?:new )?(?:boyfriend|bf|husband)|(?:dad|dads) (?:new )?(?:girlfriend|gf|wife)"
    r"|older brother|big brother|older sister|big sister|brother|bro|sister|cousin|boyfriend|girlfriend|partner"
    r"|husband|ex|coach|tutor|teacher|babysitter|caregiver|family|relatives?|someone at home|people at home)"
)
_ABUSE_VERB = (
    r"(?:hits?|hitting|beats?|beat|beating|beaten|punch(?:es|ed|ing)?|slap(?:s|ped|ping)?|kick(?:s|ed|ing)?"
    r"|chok(?:es|ed|ing|e)|strangl(?:es|ed|ing|e)|burn(?:s|ed|t|ing)?|whip(?:s|ped|ping)?|hurts?|hurting"
    r"|smack(?:s|ed|ing)?|shov(?:es|ed|ing|e)|push(?:es|ed|ing)? (?:me|him|her|us)|slam(?:s|med|ming)?|drag(?:s|ged|ging)?"
    r"|throws? (?:stuff |things )?at|threw (?:stuff |things )?at|throwing (?:stuff |things )?at|pinch(?:es|ed|ing)?"
    r"|grab(?:s|bed|bing)? (?:me|him|her|my|his) (?:by|so|wrists?|arms?|neck|throat|face|hair)|pull(?:s|ed|ing)? (?:my|her|his) hair"
    r"|abus(?:es|ed|ing|e)|lock(?:s|ed)? (?:me|him|her|us) (?:in|out)|goes after|went after|gets physical|got physical"
    r"|puts? (?:his|her|their) hands on|put (?:his|her|their) hands on|yank(?:s|ed)?|hurt me)"
)
_GUN = (
    r"(?:guns?|gunn|gunz|handguns?|pistols?|glocks?|glizzy|rifles?|shotguns?|revolvers?|firearms?|ar ?15s?|ak ?47s?"
    r"|uzis?|9mm|9 mm|straps?|strapped|blicks?|blickys?|blickeys?|blickies|toolies?|gat|gats|heater|heaters|burners?"
    r"|ninas?|skengs?|dracos?|choppers?|mac ?1[01]s?|tec ?9s?|ghost guns?|gunz|glizzys?"
    r"|semi auto|bb guns?|pellet guns?|airsoft(?: guns?)?|replica(?: guns?)?|fake guns?|stun guns?|flare guns?|bullets?"
    r"|ammo|ammunition|switch on (?:his|the|a) \w+|extended clip|drum mag|piece on (?:him|her))"
)
_PICS = r"(?:pictures?|photos?|videos?|vids?|nudes?|snaps?)"

_BLADE = (
    r"(?:knifes?|knives|knive|knfie|kinfe|nife|knif|kife|kniife|shanks?|shanked|shanking|blades?|switchblades?"
    r"|switch blade|box ?cutters?|exacto|xacto|pocket ?knifes?|butterfly knifes?|karambits?|machetes?|machette"
    r"|daggers?|swords?|katanas?|razor blades?|cleavers?|hatchets?)"
)

# --- Weapons -----------------------------------------------------------------

WEAPON = {
    "gun": rf"\b{_GUN}\b",
    "blade": rf"\b{_BLADE}\b",
    "other-weapon": (
        r"\b(?:brass knuckles|brass knucks|knucks|knuckle dusters?|bear spray|pepper spray|mace spray|tasers?"
        r"|tazers?|nunchucks?|nunchakus?|throwing stars?|batons?|crossbows?|bow and arrow|metal pipe|lead pipe"
        r"|pipe in (?:his|her|their) bag|chains? as a weapon|acid)\b"
    ),
    "bat": (
        r"\b(?:baseball bats?|metal bats?|aluminum bats?|bats? (?:hidden|in (?:his|her|their|the) (?:bag|locker|car|trunk))"
        rf"|(?:with|had|has|have|got|brought|bring|bringing|carrying|swinging|hiding|hid) {_W}?bats?)\b"
    ),
    "weapon-word": r"\b(?:weapons?|armed|strapped up|packing heat|(?:has|had|got|with|carrying|holding|hold) (?:a |his |the )?(?:piece|9|nine|tool|toolie|ting)(?: for| on| in|$))",
    "brought-to-school": r"\b(?:brought|bringing|bring|brings|carries|carrying) (?:a|his|her|their) (?:piece|tool|ting|thing) to school\b",
}
# Phrases where a weapon word is harmless (toys, tools, idioms, accounts).
WEAPON_HARMLESS = (
    r"\b(?:nerf|water|squirt|glue|hot glue|staple|nail|finger|spray tan|paintball|laser tag|toy|bubble) guns?\b"
    r"|\bburner (?:account|acc|accounts|accs|phone|number|page|insta|instagram|snap|tiktok|email|profile|finsta)s?\b"
    r"|\b(?:backpack|bag|bra|purse|watch|shoe|sandal|tank top|phone|camera|guitar|chin|helmet|lanyard) straps?\b"
    r"|\b(?:call|called|calling|got|get|i call) shotgun\b|\bshot my shot\b"
    r"|\btop gun\b|\bgun show\b"
    r"|\b(?:roller|rollerblades?|inline) blades?\b|\bshoulder blades?\b|\bblades? of grass\b|\bskate blades?\b"
    r"|\b(?:butter|plastic) knifes?\b|\bcarrying (?:the team|my team|a grudge|the group|him through)\b"
    r"|\b(?:armed forces|army|armed guard)\b|\bcarrying (?:my|her|his|the) (?:bag|books|backpack|laptop|phone)\b"
    r"|\bpacking (?:my|her|his|for|up|lunch|a lunch|bags?)\b|\bacid (?:test|reflux|rain|base|chemistry)\b"
    r"|\b(?:chem|chemistry|science) (?:\w+ )?acid\b|\bbullet (?:journal|points?|train)\b"
    r"|\b(?:guns?|rifles?|snipers?|knifes?|weapons?|loadouts?)\b(?: \w+){0,4} (?:in|on) (?:warzone|fortnite|cod|call of duty|valorant|gta|apex|roblox|minecraft|cs ?go|cs2|overwatch|pubg|the game)\b"
    r"|\b(?:warzone|fortnite|cod|call of duty|valorant|gta|apex|roblox|minecraft|cs ?go|cs2|overwatch|pubg)\b(?: \w+){0,4} (?:guns?|rifles?|snipers?|weapons?|knifes?)\b"
    r"|\b(?:deer|duck|turkey|moose) hunting\b(?: \w+){0,8} (?:rifles?|guns?|shotguns?)\b|\bhunting (?:rifles?|guns?|knifes?)\b"
    r"|\b(?:chefs?|kitchen|cooking|steak|bread) knifes?\b|\bfoods class\b(?: \w+){0,8} knifes?\b"
    r"|\b(?:prop|foam|cardboard|rubber|toy|lego) (?:knifes?|daggers?|swords?|guns?)\b"
    r"|\b(?:no|without|not any|never any) weapons?\b|\bfirearms? licen[cs]e\b"
    r"|\bburner (?:acct|accts)\b"
)

# --- Threats -------------------------------------------------------------------

THREAT = {
    "violent-intent": rf"\b{_FUTURE} (?:{_W}{{0,2}})?{_VIOLENCE} {_PEOPLE}\b",
    "and-then-violence": rf"\band (?:kill|shoot|stab|murder|slit|shank) {_PEOPLE}\b",
    "violence-slang": (
        r"\b(?:spin(?:ning|s)? the block|spin(?:ning)? (?:his|her|their|my) block|catch(?:ing)? a body|caught a body"
        r"|wet (?:him|her|them|you|me|us|that kid|the kid) up|run(?:ning)? down on|pull(?:ing)? up on (?:him|her|them|me|my))\b"
    ),
    "violence-on-everyone": (
        r"\b(?:kill|killing|hurt|hurting|shoot|shooting|stab|stabbing|murder|murdering|bomb|bombing)"
        r" (?:everyone|everybody|all of (?:them|us|you)|people at school|kids at school|the whole school|all the teachers"
        r"|our teacher|the teacher|my teacher|the principal|our class|the class|ppl at school|people in)\b"
    ),
    "dead-warning": (
        r"\b(?:you are|i am|he is|she is|we are|your|you) (?:a )?dead (?:when|if|meat|man|after)\b|\byour next\b|\byou are next\b"
        r"|\b(?:will not|not going to) (?:live to see|survive (?:the|this|tomorrow|till|until))\b"
        r"|\b(?:will not|not going to) make it (?:home|out alive|to (?:graduation|tomorrow|next week|the end))\b"
        r"|\bbody bag\b|\bcatch (?:me|you|him|her) slipping\b|\b(?:everyone|everybody) (?:in this room |here |at school )?dies\b"
        r"|\bwatch the news\b|\bwatch what happens\b|\bfinish (?:it|the job|what \w+ started)\b|\bknows where (?:i|you|we) live\b"
        r"|\bknow where (?:i|you|we) live\b|\btold (?:me|us|everyone|my friend) to stay home\b|\bsomething special for (?:you|me)\b"
    ),
    "shoot-up": (
        r"\b(?:shoot(?:ing)? up|shot up|get(?:ting)? shot up|shoot(?:ing)? (?:the|this|our) (?:school|place|class|caf|cafeteria|gym)"
        r"|school shoot(?:ing|er)s?|shooter|active shooter|start(?:ing)? shooting|mass shooting|columbine"
        r"|bring(?:ing)? (?:a|the|his|my|her|their) (?:\w+ )?(?:gun|strap|piece|blick|glock|weapon|knife|shank) (?:to|into|in) (?:school|class))\b"
    ),
    "hit-list": (
        r"\b(?:hit list|hitlist|kill list|death list|has names|list of (?:people|names|kids|students)"
        r"|who (?:he is|she is|they are) going to (?:shoot|kill|hurt|stab) first)\b"
    ),
    "bomb-arson": (
        r"\b(?:bomb threat|a bomb|the bomb (?:in|at|under)|bomb (?:at|in|on|under) |pipe bomb|bombs?(?: in| at| under) (?:the|our|this) school"
        r"|bomb (?:the|our|this) (?:school|caf|cafeteria|gym)|blow(?:ing)? up (?:the|this|our) (?:school|caf|cafeteria|gym|building|place)"
        r"|blow (?:the|this|our) school up|explosives?|grenades?|make a bomb|making a bomb|made a bomb|molotov"
        r"|(?:burn|burning|light|lighting) (?:down )?(?:the|this|our) (?:school|portable|caf|gym)(?: down| on fire)?|on fire with"
        r"|burn down)\b"
    ),
    "threat-word": (
        r"\b(?:death threats?|threats? (?:against|about|to) (?:our|the|my|this) school|threat in the|threatened the school"
        r"|threaten(?:ed|ing|s)? (?:to|me|him|her|us|my|people|the|a teacher|our)|getting threats|got threatened|threatening (?:messages|texts|dms)"
        r"|planning an attack|attack on (?:our|the|this) school|countdown)\b"
    ),
    "stay-home-warning": (
        r"\b(?:do not|better not|no one|nobody) (?:come|go) to school (?:tomorrow|on |monday|tuesday|wednesday|thursday|friday|next)"
        r"|\bstay (?:home|away from school)\b(?: tomorrow| on| monday| tuesday| wednesday| thursday| friday)"
        r"|\b(?:everyone|they|yall|you all|all of (?:you|them)|them all) (?:will|is going to|are going to) (?:all )?(?:pay|regret|be sorry|die)\b"
        r"|\bmake (?:them|everyone|yall|you all|all of them|people|them all) (?:all )?(?:pay|regret)\b|\bnot safe (?:at school )?tomorrow\b"
        r"|\bnobody (?:at|in) (?:our|this|the) school is safe\b|\bsomething (?:big|bad) is (?:going to happen|happening)\b"
    ),
}
# Hyperbole a student would never mean as a threat: blanked out before the rules run.
_HYPERBOLE_SUBJECT = (
    r"(?:mom|mum|mother|moms|dad|father|dads|parents|teacher|coach|boss|sister|brother|test|exam|homework|class|school"
    r"|this|that|it|math|chem|physics|french|bio|essay|project|assignment|lab|practice|heat|cold|wait|line|period)"
)
THREAT_HARMLESS = (
    r"\b(?:kill|killing|killed|murder|murdered|destroy|destroyed) (?:it|the test|that test|the exam|the game|the vibe|time)\b"
    rf"|\b{_HYPERBOLE_SUBJECT} (?:is |are |will |would )?(?:literally |actually |lowkey |so )?(?:going to )?(?:kill|murder|end) me\b"
    r"|\bkilling me\b|\bmake (?:them|him|her|someone|people) pay (?:me|back|for (?:the|my))\b|\bpolice make them pay\b"
)

# --- Self-harm -----------------------------------------------------------------------

_SELF = r"(?:myself|my self|herself|her self|himself|him self|themselves|themself|themselfs|yourself)"
SELF_HARM = {
    "suicide-word": (
        r"\b(?:suicide|suicidal|sucide|suiside|suicid|sucidal|suicde|suicdal|suiscide|sucicide|suecide|suicie|suside"
        r"|soocide|sewerslide|unalive|unaliving|unalived|self ?harm(?:ing|ed)?|selfharm(?:ing)?|self harn|self injur\w*|sh again)\b"
    ),
    "hurt-self": (
        r"\b(?:kill(?:ing|ed)?|end(?:ing|ed)?|hurt(?:ing)?|cut(?:ting|s)?|hang(?:ing|ed)?|harm(?:ing|ed)?|starv(?:e|ing|ed)"
        r"|unalive|drown(?:ing)?|burn(?:ed|t|ing)?|punch(?:ing|ed)?|scratch(?:ing|ed)?|hit(?:ting)?|bit(?:e|ing)|poison(?:ing|ed)?"
        rf"|shoot(?:ing)?|stab(?:bing|bed)?|off(?:ing)?) {_SELF}\b|\bkms\b|\bk m s\b"
    ),
    "want-to-die": (
        r"\b(?:want|wants|wanted|wanting|ready|going|trying|try|deserve|deserves|deserved|would rather|rather|prefer) to (?:die|be dead"
        r"|disappear|not exist|not be alive|stop existing|not wake up|never wake up|sleep forever|go to sleep forever|be gone)\b"
        r"|\bwanting to die\b|\b(?:rather|better) be dead\b|\bi would rather (?:die|be dead)\b"
        r"|\bwish (?:i|she|he) (?:was|were|would|could|had) (?:dead|die|never (?:been )?born|not alive|not here|gone|disappear|never wake)\b"
        r"|\b(?:do not|does not|did not) want to (?:be alive|live|exist|be here|wake up|keep going|keep living|be around)\b"
        r"|\bbetter off (?:dead|without (?:me|her|him))\b|\b(?:no|nothing) (?:reason )?to live for\b|\bno reason to (?:live|keep going|be here)\b"
        r"|\b(?:no one|nobody|noone) would (?:care|notice|miss (?:me|her|him)) if (?:i|she|he)\b|\bif i (?:was|were) gone\b"
        r"|\bend (?:it all|my life|her life|his life|their life|things|everything|it tonight|it today)\b|\bending it(?: all)?\b"
        r"|\btake (?:my|her|his|their) (?:own )?life\b|\bdo not care if i die\b|\bsleep and never wake up\b|\bnever wake up\b"
        r"|\b(?:can not|cannot) (?:do this|take it|take this|go on|keep going|handle (?:life|it)|live like this)(?: any ?more| much longer)?\b"
        r"|\bhow much longer i can (?:do this|take it|go on)\b|\bthinking (?:about|of) (?:dying|death|ending it|not being here|disappearing)\b"
        r"|\b(?:want|wants|wanted|going|trying) to end it\b"
        r"|\bthink about (?:dying|death|it every day|killing|disappearing)\b|\bwant (?:it|everything|this|the pain|all of this) (?:all )?to (?:stop|end|be over)\b"
        r"|\b(?:will not|not going to|might not) be (?:here|around|alive|at school) (?:much longer|tomorrow|any ?more|next week|for long|or ever)\b"
        r"|\bor ever\b|\bdone with (?:everything|life|it all|living|this life)\b|\btired of (?:living|life|being alive|existing)\b"
        r"|\b(?:no|do not see a) future for me\b|\bwhat is the point of (?:anything|living|life|it all|going on)\b|\bno point (?:in )?living\b"
        r"|\bi am (?:a )?burden\b|\bburden to (?:everyone|my family|everybody|them)\b|\bscared of (?:myself|what i might do)\b"
        r"|\bgoing to do it tonight\b|\b(?:was|am) going to do it\b|\bhave a plan\b|\bplanning how to do it\b|\bplanned (?:it|how)\b"
    ),
    "method": (
        r"\b(?:overdose|overdosed|overdosing|od on|o d on|took (?:\w+ ){0,5}(?:pills|meds|tylenol|advil|tablets)"
        r"|swallow(?:ed|ing)? (?:a bunch of |a lot of |all )?(?:pills|everything)"
        r"|bottle of (?:pills|tylenol|advil)|pills saved|how many (?:pills|tylenol|advil)|jump(?:ing)? (?:off|in front|from)"
        r"|(?:going to|about to|thinking about|thinking of|want to|saying (?:she|he) will|threatening to) jump(?:ing)?(?: off| from| in front| tonight|$)"
        r"|edge of the (?:subway )?platform|walk(?:ing)? into traffic|in front of (?:a|the) (?:train|subway|car|bus|truck)"
        r"|going to the bridge|at the bridge|on the roof (?:saying|threatening|and (?:she|he) (?:says|said))|bought (?:a )?rope|noose"
        r"|slit (?:my|her|his) wrists?|(?:wrists?|arms?|legs?|thighs?) (?:are )?bleeding|until (?:they|it) bleeds?|razor"
        r"|drank (?:a bottle of )?(?:bleach|something)|ways to die|way to die|how to die|least painful|medicine cabinet)\b"
    ),
    "cutting": (
        r"\bcut(?:s|ting)? (?:\w+ ){0,4}(?:wrists?|arms?|legs?|thighs?|stomach)\b|\b(?:her|his|my|their) cuts\b"
        r"|\b(?:arms?|wrists?|legs?|thighs?) (?:are|is|r) (?:a mess|all cut|cut up|bleeding|scarred)\b"
        r"|\b(?:is|been|started|keeps|was|am|of|on|doing|relapsed|relapse|stop|stopped|about|caught (?:her|him)) cutting\b"
        r"|\bcutting (?:again|herself|himself|myself)\b|\bcut (?:deeper|too deep|again)\b|\bscars? (?:\w+ ){0,3}(?:wrists?|arms?|thighs?|legs?)\b"
        r"|\b(?:cuts|scratches|burns) (?:all )?(?:over|on) (?:her|his|my|their) (?:arms?|wrists?|legs?|thighs?)\b|\burges\b"
    ),
    "warning-signs": (
        r"\b(?:suicide note|goodbye (?:note|letter|message|post|text|video)|(?:wrote|writing|written) (?:a )?(?:note|letters?|notes)"
        r"|(?:letter|note) to (?:her|his|their|my) (?:family|parents|mom|dad)|giving away (?:all )?(?:her|his|my|their) (?:stuff|things)"
        r"|gave (?:me|away) (?:all )?(?:her|his) (?:stuff|things|favou?rite)|(?:will not|do not|does not) need (?:it|them) any ?more"
        r"|saying goodbye to everyone|said goodbye|said (?:my|her|his|their) goodbyes|sorry for everything|see you never"
        r"|last (?:day|week|time) (?:alive|on earth|ever)|this is (?:my|her|his) last (?:post|message|day|week|goodbye)|my last (?:post|goodbye)"
        r"|my funeral|life is not worth|not worth living|i am done with everything|i think i am done|i want it to be over|want it over)\b"
    ),
}

# Hyperbole about dying that is about embarrassment, laughter or boredom.
SELF_HARM_HARMLESS = r"\b(?:die|died|dying|dead) (?:of|from) (?:embarrassment|boredom|laughter|laughing|cringe|shame|cuteness)\b|\bdie laughing\b"

# --- Abuse -------------------------------------------------------------------------

ABUSE = {
    "family-violence": rf"\b(?:my |our |her |his |a |the )?{_ADULT}s? (?:{_W}){{0,8}}{_ABUSE_VERB}\b",
    "hit-with": (
        r"\b(?:hit|beat|whipped|smacked) (?:me|him|her|us) with (?:a|an|the|his|her) (?:belt|cord|extension cord|shoe|spoon|stick|ruler|hanger|bat)\b"
        r"|\bgot hit with\b|\b(?:already|has|keeps) hit(?:ting)? me\b|\bkneel on rice\b"
    ),
    "strangled": r"\b(?:chok(?:ed|es|ing)|strangl\w+) (?:me|her|him)\b|\bgrab\w* (?:\w+ ){0,2}by the (?:neck|throat|hair)\b",
    "threatened-by-family": rf"\b{_ADULT} (?:{_W}){{0,3}}(?:said|says|threatened|threatens|texted|told me) (?:{_W}){{0,10}}(?:break|kill|beat|hurt|hit|throw me out)\b",
    "abuse-word": (
        r"\b(?:abuse|abused|abusing|abusive|abuses|abuser|neglect|neglected|neglecting|domestic violence|child abuse"
        r"|childrens aid|children s aid)\b"
    ),
    "marks": rf"\b(?:black eye|bruises?|marks|scars?) from (?:my |her |his )?{_ADULT}\b"
    r"|\b(?:bruises|bruised|bruise|marks on (?:\w+ ){0,2}(?:arms?|neck|back|legs?|face|wrists?)|left marks|hand ?prints? on)\b",
    "hit-at-home": (
        r"\b(?:get|got|getting|gets) (?:hit|smacked|beat|beaten|hurt|slapped|whooped) (?:at home|by my|by his|by her|when)\b"
        r"|\b(?:someone|somebody|people) at home (?:is|are|keeps) (?:hurting|hitting|beating)\b|\bhit me when\b"
        r"|\bdo not feel safe (?:at home|at my house|in my house|home)\b|\bnot safe (?:at home|in my house)\b"
        r"|\bscared (?:my|that my) (?:dad|mom|stepdad|father|mother|boyfriend) is home\b|\bhiding (?:in|from) (?:my|her|his)\b"
        r"|\b(?:gets|got|getting) physical\b|\bgrabbed (?:my|her|his) (?:face|throat|neck)\b"
        r"|\b(?:push|shov)(?:es|ed|ing|e)? (?:me|him|her|us) down the stairs\b|\b(?:throws?|threw|throwing) (?:me|him|her|us) (?:against|into|down|across)\b"
    ),
    "kicked-out": (
        # "my gc kicked me out" is a group chat, not a home
        r"(?<!\bgc )(?<!group )(?<!chat )(?<!server )(?<!discord )(?<!team )(?<!squad )"
        r"\b(?:kicked|kick|threw|throw|thrown) (?:me|him|her|them) out\b(?! of (?:the |our |my |a |his |her )?(?:gc|group|chat|class|game"
        r"|server|team|club|lobby|call|discord|party|room|library|caf|cafeteria|gym|store|mall|car))"
        r"|\bkicked out of (?:my|the|his|her|their) (?:house|home|place)\b|\bcan not (?:come|go) home\b"
        r"|\bhomeless\b|\bnowhere to (?:sleep|go|stay|live)\b|\bsleep(?:s|ing)? (?:in|at|on) (?:a|the) (?:park|car|street|streets|bench|subway|station|library|garage)\b"
        r"|\bsleep(?:s|ing)? (?:at|in) \w+ station\b|\bsleep(?:s|ing)? outside\b|\blocked (?:me|him|her) out\b"
    ),
    "coercive-control": (
        r"\b(?:will not|does not|did not|would not) let me (?:leave|go home|see my friends|talk to anyone|eat|sleep)\b"
        r"|\btook my (?:phone|wallet|keys|passport|health card) (?:\w+ ){0,4}(?:will not|would not|does not) let me\b"
    ),
    "scared-at-home": (
        r"\b(?:scared|afraid|terrified|frightened) (?:to go|of going) home\b|\b(?:do not|does not) want to go home\b"
        r"|\b(?:scared|afraid|terrified) of (?:my|her|his) (?:dad|father|mom|mother|stepdad|parents|uncle|boyfriend|girlfriend)\b"
    ),
    "neglect": (
        r"\bno food\b|\b(?:ran|run|running) out of food\b|\bbarely any food\b|\bnever (?:any )?food\b|\bnothing to eat\b"
        r"|\b(?:do not|does not) have (?:any )?(?:\w+ or )?food\b"
        r"|\b(?:do not|does not|never|will not) (?:feed|fed|let (?:me|us|him|her) eat)\b|\bnot (?:allowed|aloud) to eat\b"
        r"|\b(?:lock|locks|locked) (?:on )?the fridge\b|\bleft (?:home )?alone for (?:a week|days|weeks)\b|\b(?:leaves|left) (?:us |me )?for days\b"
        r"|\b(?:nobody|no one|noone) (?:has been|is|s been|been) home\b|\bstarv(?:e|ing|ed) (?:me|us|their|his|her|my|the) ?(?:kids?|child|children|son|daughter)?\b"
        r"|\bno (?:heat|water|electricity) (?:at home|in the house)\b|\bsleep in the garage\b"
    ),
}
ABUSE_HARMLESS = r"\b(?:drug|substance|alcohol|vape|vaping) abuse\b|\babuse of power\b"

# --- Sexual harm ----------------------------------------------------------------------

SEXUAL_HARM = {
    "assault-word": (
        r"\b(?:rape|raped|raping|rapist|rapes|sexual(?:ly)? (?:assault(?:ed)?|abuse(?:d)?|harass(?:ed|ment|ing)?)"
        r"|molest(?:ed|ing|er|s)?|grope(?:d|s)?|groping|grooming|groomed|sextortion|sextort(?:ed|ing)?|upskirt(?:s|ing)?"
        r"|incest|pedo|pedophile|predator|exposed (?:himself|herself)|flashed (?:me|us|her)|did stuff to me|does things to me"
        r"|did things to me|does things i do not want|without (?:my|her|his) consent|did not consent|consent|catcall\w*"
        r"|(?:would not|did not) stop (?:\w+ ){0,3}i said no|i said no (?:\w+ ){0,3}(?:he|she|they) (?:would not|did not|kept|keeps)"
        r"|(?:got|was|been|were|being|get) sa(?:d|ed)?|sa happened|sa d me"
        r"|without (?:my|her) permission)\b"
    ),
    "touching": (
        r"\b(?:touch(?:ed|es|ing)?|grab(?:bed|s|bing)?|feel(?:s|ing)? up|felt up|rub(?:bed|s|bing)? (?:up )?(?:against|on)|slapped|slaps)"
        r" (?:me|her|him|my|his|their|girls|guys)(?: \w+)? (?:butt|ass|chest|boobs?|breasts?|private|privates|crotch|thigh|thighs"
        r"|body|down there|inappropriately|without|leg|legs|waist|back under|while)\b"
        r"|\btouched (?:me|her|him|my friend|kids|girls)\b|\b(?:keeps|kept|keep) touching\b|\bgot touched\b|\btouches (?:me|her|the girls|girls|my)\b"
        r"|\btouching (?:me|her|him|my friend|the girls|girls|kids)(?: \w+)?(?: when| while| during| at| after| even|$| in)\b"
        r"|\brub(?:s|bed|bing)? (?:up )?against\b|\binappropriate(?:ly)? (?:touch\w*|pictures|pics|photos|messages|texts|comments)\b"
        r"|\bunwanted (?:touch\w*|advances|kiss\w*)\b|\bprivate (?:parts|areas?)\b|\bmade (?:me|her|him) (?:touch|do stuff|do things|undress|take off|sit on)\b"
        r"|\bmade (?:me|her|him) take (?:my|her|his) (?:\w+ )?off\b|\bforced (?:me|her|him) to\b|\bpressured (?:me|her|him) (?:into|to)\b"
        r"|\bhand (?:down|up) (?:my|her|his) (?:pants|shirt|skirt)\b|\bsnapped (?:my|her) bra\b"
        r"|\bpulled (?:my|her|his) (?:pants|skirt|shorts) (?:down|up)\b|\b(?:pulled|lifted) up (?:my|her) (?:skirt|shirt)\b"
        r"|\bkiss(?:ed)? me without\b|\btried to (?:kiss|touch) me\b|\btrying to (?:kiss|touch) me\b|\bclothes off\b|\bwatches us change\b"
        r"|\bsit on (?:his|her) lap\b|\bi was drugged\b|\bdrugged (?:me|her)\b"
    ),
    "images": (
        rf"\b(?:nudes?|nude {_PICS}|naked {_PICS}|dick {_PICS}|deepfake|explicit {_PICS}|sexting|sext|sexts|onlyfans|only fans|porn"
        r"|up (?:her|my) skirt)\b"
        rf"|\b(?:post|posting|posted|leak|leaked|leaking|share|shared|sharing|send|sent|sending|spread|spreading|expose|exposed)"
        rf" (?:\w+ ){{0,4}}(?:my|her|his) (?:private|intimate|naked|nude) {_PICS}\b"
        rf"|\b(?:my|her) (?:private |intimate )?{_PICS} (?:are|is|got|were) (?:on (?:some|a) (?:website|site)|everywhere|leaked|going around)\b"
        rf"|\b(?:ask(?:s|ed|ing)?|pressur(?:e|es|ed|ing)|want(?:s|ed)?|beg(?:s|ged|ging)?) (?:\w+ ){{0,3}}(?:for|to send|send|sending) (?:\w+ )?{_PICS}\b"
        rf"|\b(?:or|unless) (?:they|he|she) (?:will|are going to|is going to) (?:post|send|share|leak|expose)\b"
        rf"|\b(?:money|pay|dollars|bitcoin|gift cards?) (?:\w+ ){{0,4}}(?:for|or|unless) (?:\w+ ){{0,4}}(?:{_PICS}|send)\b"
        rf"|\b{_PICS} (?:\w+ ){{0,10}}(?:unless|if (?:i|she|he) (?:do not|does not))\b|\bunless i pay\b"
        rf"|\b(?:if|unless) (?:i|she|he) (?:send|sent|sends) (?:him|her|them) (?:a )?{_PICS}"
        rf"|\b(?:send|sending|sends|sent) (?:\w+ ){{0,3}}{_PICS} of (?:himself|herself)\b|\bshare {_PICS} of girls\b|\bwhat i am wearing\b"
        rf"|\bvideo of (?:a|her|me) (?:\w+ ){{0,5}}(?:consent|going around)\b|\bolder (?:guy|man) (?:from|on) (?:online|snap|insta|tiktok|discord)\b"
        r"|\bsent (?:\w+ ){0,2}(?:pictures?|photos?|nudes?)\b(?: \w+){0,10} (?:posting|posted|leaked|sharing|shared|spreading|spread)\b"
    ),
    "filming": (
        r"\b(?:filming|filmed|recording|recorded|taking pictures|took (?:a )?pictures?|camera|phone hidden|hid (?:their|his|her|a) phone)"
        r" (?:\w+ ){0,4}(?:change ?room|locker room|washroom|bathroom|shower|showers|changing|under (?:her|my) skirt|up (?:her|my) skirt)\b"
        r"|\b(?:walks|walked|comes|came) in (?:when|while) (?:i am|i was|she is|she was) (?:showering|changing|in the shower)\b"
        r"|\b(?:picture|pic) of me changing\b"
    ),
    "adult-advances": (
        r"\b(?:teacher|coach|adult|older guy|grown man|old man|older man|man|tutor|supervisor|manager|staff|driver|substitute|stepbrother|step brother)"
        r" (?:\w+ ){0,3}(?:keeps |kept |has been |always )?(?:texting|texts|messaging|messages|dming|dms|dmed|snapping|snaps|asking|asks|asked"
        r"|sending|sends|calling|calls|offered|offers|said|says|comments?|commented|staring|stares|hugs|watches)"
        r"(?: \w+){0,6} (?:at night|late at night|\d{1,2} ?am|pictures|photos|to meet|meet up|come over|his house|alone|secret|sexy|hot"
        r"|looked really good|looked good|looking good|look good"
        r"|beautiful|babe|baby|mature for (?:my|her|his) age|my body|her body|what i am wearing|my chest|her chest|virgin|sexual)\b"
        r"|\bsexual (?:comments|jokes|messages|texts|stuff|things|advances|questions)\b|\bsexy\b|\bvirgin\b|\bcomments about (?:my|her) (?:body|chest|butt)\b"
        r"|\brate (?:girls|guys|our) bodies\b|\braise (?:my|her) grade if\b|\bhe is (?:like )?[2-6]\d and (?:she is|i am) 1[0-7]\b"
        r"|\b(?:1[89]|[2-6]\d) ?(?:yr|yrs|year|years|y o)? ?old (?:\w+ ){0,5}(?:dating|date|sleeping with|hooking up|going out with"
        r"|picks (?:her|him|me) up|ask(?:s|ed|ing)? me for|relationship with|texting)\b"
    ),
}

CATEGORIES: dict[str, dict[str, str]] = {
    "weapon": WEAPON,
    "threat": THREAT,
    "self_harm": SELF_HARM,
    "abuse": ABUSE,
    "sexual_harm": SEXUAL_HARM,
}

# Harmless phrases are blanked out before a category's rules run.
HARMLESS: dict[str, str] = {
    "self_harm": SELF_HARM_HARMLESS,
    "weapon": WEAPON_HARMLESS,
    "threat": THREAT_HARMLESS,
    "abuse": ABUSE_HARMLESS,
}

# Misspelt single words caught by edit distance, by category. Only long, rare
# words: short ones ("glock") have too many innocent neighbours ("block").
FUZZY_WORDS: dict[str, tuple[str, ...]] = {
    "weapon": (
        "machete",
        "switchblade",
        "pistol",
        "shotgun",
        "weapon",
        "weapons",
        "firearm",
        "revolver",
        "handgun",
    ),
    "self_harm": ("suicide", "suicidal", "overdose", "selfharm", "unalive"),
    "sexual_harm": ("molested", "molester", "sextortion", "sexually", "sextorted"),
    "abuse": ("neglected", "abusive"),
    "threat": ("explosive", "hitlist"),
}

# Emoji that stand for a word the rules know.
EMOJI_WORDS = {
    "\U0001f52b": " gun ",
    "\U0001f52a": " knife ",
    "\U0001f5e1": " knife ",
    "\U0001f4a3": " a bomb ",  # a bomb emoji in a message to a school officer is a threat
}

# Contractions typed without apostrophes, spelled out for the rules ("hell kill me").
CONTRACTIONS = {
    "hes": "he is", "shes": "she is", "theyre": "they are", "youre": "you are", "were": "were",
    "theyll": "they will", "youll": "you will", "hell": "he will", "shell": "she will", "ill": "i will",
    "hed": "he would", "shed": "she would", "theyd": "they would", "youd": "you would", "whos": "who is",
    "thats": "that is", "itll": "it will", "ima": "i am going to", "imma": "i am going to",
    "your": "your", "ur": "your",
}  # fmt: skip

# The intent a safety-net hit stands for, when the model said something else.
CATEGORY_INTENT = {
    "weapon": "report_weapon",
    "threat": "report_threat",
    "self_harm": "report_self_harm",
    "abuse": "report_abuse",
    "sexual_harm": "report_sexual_harassment",
}
