"""Classical Chinese poems: a small corpus of five-character Tang poems for a character-level RNN.

Seventy-odd poems, every line five characters long: five-character quatrains (五言绝句, four lines) and
regulated verse (五言律诗, eight lines).  Among them the four poems whose openings the character RNN of
"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" (the article the course follows)
continues -- 床前 (静夜思), 白日 (登鹳雀楼), 春眠 (春晓), 千山 (江雪) -- each with an English
gloss.

Provenance: the poems were written in the Tang dynasty (618-907) and are in the public domain.  The
texts are the standard ones of modern simplified-character editions (the school canon, *Three Hundred
Tang Poems* 唐诗三百首, *Complete Tang Poems* 全唐诗, as transcribed on Chinese Wikisource), typed in
for this course.  Where editions differ we keep the reading that readers know: 静夜思 as
"床前明月光 ... 举头望明月" (the Ming-dynasty reading that schools teach; the *Complete Tang Poems*
has 看月光 / 望山月).  The English glosses are literal translations written for this course, released
under CC0 1.0 like the module itself.

A poem's ``text`` joins its lines with the full-width comma and full stop of the editions:
"床前明月光，疑是地上霜。举头望明月，低头思故乡。" -- so a character model also learns the rhythm
(five characters, then punctuation).
"""

from __future__ import annotations

import dataclasses

__all__ = ["Poem", "PREFIXES", "poems", "poem_corpus", "poem_by_prefix"]

PREFIXES = ("床前", "白日", "春眠", "千山")  # the openings the article's character RNN continues


@dataclasses.dataclass(frozen=True)
class Poem:
    """One poem: ``title`` and ``author`` in Chinese, ``author_en`` in pinyin, ``lines`` of 5 characters."""

    title: str
    author: str
    author_en: str
    lines: tuple[str, ...]
    title_en: str = ""
    english: tuple[str, ...] = ()  # a line-by-line gloss (the four prefix poems)

    @property
    def text(self) -> str:
        """The lines with the editions' punctuation: '，' after odd lines, '。' after even lines."""
        return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(self.lines))


_GLOSSES = {
    "静夜思": (
        "Quiet Night Thoughts",
        (
            "Before my bed the bright moonlight;",
            "I take it for frost upon the ground.",
            "I raise my head and gaze at the bright moon,",
            "I lower my head and think of home.",
        ),
    ),
    "登鹳雀楼": (
        "Climbing Stork Tower",
        (
            "The white sun sets behind the mountains,",
            "the Yellow River flows into the sea.",
            "To see a thousand li further,",
            "climb one more storey.",
        ),
    ),
    "春晓": (
        "Spring Dawn",
        (
            "Sleeping in spring, I miss the dawn;",
            "everywhere I hear the birds.",
            "Last night the sound of wind and rain --",
            "how many blossoms have fallen?",
        ),
    ),
    "江雪": (
        "River Snow",
        (
            "On a thousand mountains no bird flies,",
            "on ten thousand paths no footprint.",
            "A lone boat, an old man in straw cape and hat,",
            "fishing alone in the snow of the cold river.",
        ),
    ),
}

# (title, author, author in pinyin, text): the text exactly as printed, punctuation included.
_POEMS = (
    ("静夜思", "李白", "Li Bai", "床前明月光，疑是地上霜。举头望明月，低头思故乡。"),
    ("登鹳雀楼", "王之涣", "Wang Zhihuan", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"),
    ("春晓", "孟浩然", "Meng Haoran", "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"),
    ("江雪", "柳宗元", "Liu Zongyuan", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。"),
    ("相思", "王维", "Wang Wei", "红豆生南国，春来发几枝。愿君多采撷，此物最相思。"),
    ("鹿柴", "王维", "Wang Wei", "空山不见人，但闻人语响。返景入深林，复照青苔上。"),
    ("竹里馆", "王维", "Wang Wei", "独坐幽篁里，弹琴复长啸。深林人不知，明月来相照。"),
    ("送别", "王维", "Wang Wei", "山中相送罢，日暮掩柴扉。春草明年绿，王孙归不归。"),
    ("杂诗", "王维", "Wang Wei", "君自故乡来，应知故乡事。来日绮窗前，寒梅著花未。"),
    ("鸟鸣涧", "王维", "Wang Wei", "人闲桂花落，夜静春山空。月出惊山鸟，时鸣春涧中。"),
    ("宿建德江", "孟浩然", "Meng Haoran", "移舟泊烟渚，日暮客愁新。野旷天低树，江清月近人。"),
    ("登乐游原", "李商隐", "Li Shangyin", "向晚意不适，驱车登古原。夕阳无限好，只是近黄昏。"),
    ("寻隐者不遇", "贾岛", "Jia Dao", "松下问童子，言师采药去。只在此山中，云深不知处。"),
    ("悯农·其一", "李绅", "Li Shen", "春种一粒粟，秋收万颗子。四海无闲田，农夫犹饿死。"),
    ("悯农·其二", "李绅", "Li Shen", "锄禾日当午，汗滴禾下土。谁知盘中餐，粒粒皆辛苦。"),
    ("独坐敬亭山", "李白", "Li Bai", "众鸟高飞尽，孤云独去闲。相看两不厌，只有敬亭山。"),
    ("夜宿山寺", "李白", "Li Bai", "危楼高百尺，手可摘星辰。不敢高声语，恐惊天上人。"),
    ("怨情", "李白", "Li Bai", "美人卷珠帘，深坐颦蛾眉。但见泪痕湿，不知心恨谁。"),
    ("玉阶怨", "李白", "Li Bai", "玉阶生白露，夜久侵罗袜。却下水晶帘，玲珑望秋月。"),
    ("秋浦歌·其十五", "李白", "Li Bai", "白发三千丈，缘愁似个长。不知明镜里，何处得秋霜。"),
    ("劳劳亭", "李白", "Li Bai", "天下伤心处，劳劳送客亭。春风知别苦，不遣柳条青。"),
    ("八阵图", "杜甫", "Du Fu", "功盖三分国，名成八阵图。江流石不转，遗恨失吞吴。"),
    ("绝句·其一", "杜甫", "Du Fu", "迟日江山丽，春风花草香。泥融飞燕子，沙暖睡鸳鸯。"),
    ("绝句·其二", "杜甫", "Du Fu", "江碧鸟逾白，山青花欲燃。今春看又过，何日是归年。"),
    ("听筝", "李端", "Li Duan", "鸣筝金粟柱，素手玉房前。欲得周郎顾，时时误拂弦。"),
    ("新嫁娘", "王建", "Wang Jian", "三日入厨下，洗手作羹汤。未谙姑食性，先遣小姑尝。"),
    ("问刘十九", "白居易", "Bai Juyi", "绿蚁新醅酒，红泥小火炉。晚来天欲雪，能饮一杯无。"),
    ("池上", "白居易", "Bai Juyi", "小娃撑小艇，偷采白莲回。不解藏踪迹，浮萍一道开。"),
    ("夜雪", "白居易", "Bai Juyi", "已讶衾枕冷，复见窗户明。夜深知雪重，时闻折竹声。"),
    ("逢雪宿芙蓉山主人", "刘长卿", "Liu Changqing", "日暮苍山远，天寒白屋贫。柴门闻犬吠，风雪夜归人。"),
    ("送灵澈上人", "刘长卿", "Liu Changqing", "苍苍竹林寺，杳杳钟声晚。荷笠带斜阳，青山独归远。"),
    ("弹琴", "刘长卿", "Liu Changqing", "泠泠七弦上，静听松风寒。古调虽自爱，今人多不弹。"),
    ("送上人", "刘长卿", "Liu Changqing", "孤云将野鹤，岂向人间住。莫买沃洲山，时人已知处。"),
    ("秋夜寄邱员外", "韦应物", "Wei Yingwu", "怀君属秋夜，散步咏凉天。空山松子落，幽人应未眠。"),
    ("行宫", "元稹", "Yuan Zhen", "寥落古行宫，宫花寂寞红。白头宫女在，闲坐说玄宗。"),
    ("塞下曲·其二", "卢纶", "Lu Lun", "林暗草惊风，将军夜引弓。平明寻白羽，没在石棱中。"),
    ("塞下曲·其三", "卢纶", "Lu Lun", "月黑雁飞高，单于夜遁逃。欲将轻骑逐，大雪满弓刀。"),
    ("江南曲", "李益", "Li Yi", "嫁得瞿塘贾，朝朝误妾期。早知潮有信，嫁与弄潮儿。"),
    ("哥舒歌", "西鄙人", "Xibi Ren (anonymous)", "北斗七星高，哥舒夜带刀。至今窥牧马，不敢过临洮。"),
    ("渡汉江", "宋之问", "Song Zhiwen", "岭外音书断，经冬复历春。近乡情更怯，不敢问来人。"),
    ("春怨", "金昌绪", "Jin Changxu", "打起黄莺儿，莫教枝上啼。啼时惊妾梦，不得到辽西。"),
    ("宫词", "张祜", "Zhang Hu", "故国三千里，深宫二十年。一声何满子，双泪落君前。"),
    ("终南望余雪", "祖咏", "Zu Yong", "终南阴岭秀，积雪浮云端。林表明霁色，城中增暮寒。"),
    ("罢相作", "李适之", "Li Shizhi", "避贤初罢相，乐圣且衔杯。为问门前客，今朝几个来。"),
    ("答人", "太上隐者", "Taishang Yinzhe", "偶来松树下，高枕石头眠。山中无历日，寒尽不知年。"),
    ("风", "李峤", "Li Qiao", "解落三秋叶，能开二月花。过江千尺浪，入竹万竿斜。"),
    ("蝉", "虞世南", "Yu Shinan", "垂緌饮清露，流响出疏桐。居高声自远，非是藉秋风。"),
    ("秋风引", "刘禹锡", "Liu Yuxi", "何处秋风至，萧萧送雁群。朝来入庭树，孤客最先闻。"),
    ("送崔九", "裴迪", "Pei Di", "归山深浅去，须尽丘壑美。莫学武陵人，暂游桃源里。"),
    ("长干行·其一", "崔颢", "Cui Hao", "君家何处住，妾住在横塘。停船暂借问，或恐是同乡。"),
    ("长干行·其二", "崔颢", "Cui Hao", "家临九江水，来去九江侧。同是长干人，生小不相识。"),
    (
        "赋得古原草送别",
        "白居易",
        "Bai Juyi",
        "离离原上草，一岁一枯荣。野火烧不尽，春风吹又生。远芳侵古道，晴翠接荒城。又送王孙去，萋萋满别情。",
    ),
    (
        "春望",
        "杜甫",
        "Du Fu",
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    ),
    (
        "春夜喜雨",
        "杜甫",
        "Du Fu",
        "好雨知时节，当春乃发生。随风潜入夜，润物细无声。野径云俱黑，江船火独明。晓看红湿处，花重锦官城。",
    ),
    (
        "月夜",
        "杜甫",
        "Du Fu",
        "今夜鄜州月，闺中只独看。遥怜小儿女，未解忆长安。香雾云鬟湿，清辉玉臂寒。何时倚虚幌，双照泪痕干。",
    ),
    (
        "旅夜书怀",
        "杜甫",
        "Du Fu",
        "细草微风岸，危樯独夜舟。星垂平野阔，月涌大江流。名岂文章著，官应老病休。飘飘何所似，天地一沙鸥。",
    ),
    (
        "望岳",
        "杜甫",
        "Du Fu",
        "岱宗夫如何，齐鲁青未了。造化钟神秀，阴阳割昏晓。荡胸生曾云，决眦入归鸟。会当凌绝顶，一览众山小。",
    ),
    (
        "登岳阳楼",
        "杜甫",
        "Du Fu",
        "昔闻洞庭水，今上岳阳楼。吴楚东南坼，乾坤日夜浮。亲朋无一字，老病有孤舟。戎马关山北，凭轩涕泗流。",
    ),
    (
        "山居秋暝",
        "王维",
        "Wang Wei",
        "空山新雨后，天气晚来秋。明月松间照，清泉石上流。竹喧归浣女，莲动下渔舟。随意春芳歇，王孙自可留。",
    ),
    (
        "使至塞上",
        "王维",
        "Wang Wei",
        "单车欲问边，属国过居延。征蓬出汉塞，归雁入胡天。大漠孤烟直，长河落日圆。萧关逢候骑，都护在燕然。",
    ),
    (
        "终南别业",
        "王维",
        "Wang Wei",
        "中岁颇好道，晚家南山陲。兴来每独往，胜事空自知。行到水穷处，坐看云起时。偶然值林叟，谈笑无还期。",
    ),
    (
        "汉江临泛",
        "王维",
        "Wang Wei",
        "楚塞三湘接，荆门九派通。江流天地外，山色有无中。郡邑浮前浦，波澜动远空。襄阳好风日，留醉与山翁。",
    ),
    (
        "酬张少府",
        "王维",
        "Wang Wei",
        "晚年惟好静，万事不关心。自顾无长策，空知返旧林。松风吹解带，山月照弹琴。君问穷通理，渔歌入浦深。",
    ),
    (
        "送友人",
        "李白",
        "Li Bai",
        "青山横北郭，白水绕东城。此地一为别，孤蓬万里征。浮云游子意，落日故人情。挥手自兹去，萧萧班马鸣。",
    ),
    (
        "渡荆门送别",
        "李白",
        "Li Bai",
        "渡远荆门外，来从楚国游。山随平野尽，江入大荒流。月下飞天镜，云生结海楼。仍怜故乡水，万里送行舟。",
    ),
    (
        "过故人庄",
        "孟浩然",
        "Meng Haoran",
        "故人具鸡黍，邀我至田家。绿树村边合，青山郭外斜。开轩面场圃，把酒话桑麻。待到重阳日，还来就菊花。",
    ),
    (
        "望洞庭湖赠张丞相",
        "孟浩然",
        "Meng Haoran",
        "八月湖水平，涵虚混太清。气蒸云梦泽，波撼岳阳城。欲济无舟楫，端居耻圣明。坐观垂钓者，徒有羡鱼情。",
    ),
    (
        "送杜少府之任蜀州",
        "王勃",
        "Wang Bo",
        "城阙辅三秦，风烟望五津。与君离别意，同是宦游人。海内存知己，天涯若比邻。无为在歧路，儿女共沾巾。",
    ),
    (
        "望月怀远",
        "张九龄",
        "Zhang Jiuling",
        "海上生明月，天涯共此时。情人怨遥夜，竟夕起相思。灭烛怜光满，披衣觉露滋。不堪盈手赠，还寝梦佳期。",
    ),
    (
        "题破山寺后禅院",
        "常建",
        "Chang Jian",
        "清晨入古寺，初日照高林。曲径通幽处，禅房花木深。山光悦鸟性，潭影空人心。万籁此都寂，但余钟磬音。",
    ),
    (
        "次北固山下",
        "王湾",
        "Wang Wan",
        "客路青山外，行舟绿水前。潮平两岸阔，风正一帆悬。海日生残夜，江春入旧年。乡书何处达，归雁洛阳边。",
    ),
    (
        "商山早行",
        "温庭筠",
        "Wen Tingyun",
        "晨起动征铎，客行悲故乡。鸡声茅店月，人迹板桥霜。槲叶落山路，枳花明驿墙。因思杜陵梦，凫雁满回塘。",
    ),
)


def _parse(title: str, author: str, author_en: str, text: str) -> Poem:
    lines = tuple(part for part in text.replace("。", "，").split("，") if part)
    title_en, english = _GLOSSES.get(title, ("", ()))
    poem = Poem(title, author, author_en, lines, title_en, english)
    if poem.text != text:  # the punctuation pattern is part of the data; keep the two in step
        raise ValueError(f"{title}: text {text!r} does not follow the '，' / '。' pattern")
    return poem


_PARSED = tuple(_parse(*row) for row in _POEMS)


def poems() -> list[Poem]:
    """Every poem of the corpus, in a fixed order (the four prefix poems first)."""
    return list(_PARSED)


def poem_corpus(separator: str = "\n") -> str:
    """All poem texts joined by ``separator``: one long string for a character model."""
    return separator.join(p.text for p in _PARSED)


def poem_by_prefix(prefix: str) -> Poem:
    """The poem whose text starts with ``prefix`` (e.g. '床前' -> 静夜思)."""
    for poem in _PARSED:
        if poem.text.startswith(prefix):
            return poem
    raise KeyError(f"no poem starts with {prefix!r}")
