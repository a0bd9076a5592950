/// Plausible Chinese names: a surname and one or two given-name characters, and a few Uyghur names
/// written with the middle dot (·, U+00B7) as the household register prints them.
enum ChineseNames {
    static let surnames: [String] =
        Array(
            "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
        ).map(String.init) + ["欧阳", "司马", "诸葛", "上官"]
    static let surnameWeights: [Int] = surnames.indices.map { $0 < 10 ? 60 - $0 * 3 : $0 < 40 ? 12 : 4 }

    static let maleCharacters = Array("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣建国志文博晨阳毅峰海东宏").map(String.init)
    static let femaleCharacters = Array("芳娜敏静丽艳娟霞秀燕玲桂丹萍红琳雪梅慧莉婷颖倩晶妍洁琪佳瑶璐欣怡悦晓雨婉淑兰月").map(String.init)

    static let uyghurMale = ["艾力", "买买提", "阿不都", "努尔", "吐尔逊", "艾合买提", "热合曼", "亚森"]
    static let uyghurFemale = ["阿依古丽", "古丽娜尔", "热依拉", "帕提古丽", "迪丽娜尔", "阿依努尔", "米热古丽", "努尔古丽"]

    /// Homophones a clerk might type instead (张伟 → 张玮): the spelling a department gets wrong.
    static let homophones: [Character: Character] = [
        "伟": "玮", "强": "蔷", "磊": "垒", "军": "君", "洋": "阳", "杰": "洁", "涛": "韬", "明": "铭", "华": "桦",
        "飞": "菲", "波": "博", "宇": "雨", "浩": "皓", "俊": "骏", "林": "琳", "建": "健", "国": "帼", "文": "雯",
        "芳": "方", "娜": "纳", "敏": "民", "静": "靖", "丽": "莉", "艳": "燕", "娟": "鹃", "霞": "侠", "玲": "铃",
        "红": "虹", "雪": "薛", "梅": "玫", "慧": "惠", "婷": "亭", "颖": "莹", "晶": "精", "琪": "淇", "佳": "嘉",
        "欣": "新", "怡": "宜", "悦": "月", "晓": "小", "兰": "岚", "月": "玥", "力": "丽", "提": "题", "古": "谷",
    ]

    /// A given name of one or two characters.
    static func given(_ rng: inout Xoshiro256StarStar, male: Bool) -> String {
        let pool = male ? maleCharacters : femaleCharacters
        let first = rng.pick(pool) ?? "明"
        return rng.chance(0.3) ? first : first + (rng.pick(pool) ?? "华")
    }

    static func surname(_ rng: inout Xoshiro256StarStar) -> String {
        surnames[rng.weighted(surnameWeights)]
    }

    /// A Uyghur name: given name · father's given name.
    static func uyghur(_ rng: inout Xoshiro256StarStar, male: Bool) -> String {
        (rng.pick(male ? uyghurMale : uyghurFemale) ?? "艾力") + "·" + (rng.pick(uyghurMale) ?? "买买提")
    }

    /// The name as another department misspells it: one character replaced by a homophone.
    static func misspelled(_ name: String) -> String {
        var characters = Array(name)
        for index in characters.indices.reversed() {
            if let replacement = homophones[characters[index]] {
                characters[index] = replacement
                return String(characters)
            }
        }
        characters[characters.count - 1] = characters.last == "明" ? "铭" : "明"
        return String(characters)
    }
}

extension ChineseNames {
    /// The surname a Han name starts with (a compound surname such as 欧阳 when it is one).
    static func surname(of name: String) -> String {
        surnames.last { $0.count == 2 && name.hasPrefix($0) } ?? String(name.prefix(1))
    }
}
