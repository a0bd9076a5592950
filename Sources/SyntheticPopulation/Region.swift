/// A county-level region (GB/T 2260) the synthetic population lives in, with what its offices print.
struct Region: Sendable {
    /// The 6-digit region code.
    let code: String
    /// The full place name, e.g. 北京市朝阳区.
    let name: String
    /// The province's one-character abbreviation on certificates, e.g. 京.
    let abbreviation: String
    /// The district as printed on property certificates, e.g. 朝阳区.
    let district: String
    /// A few streets for addresses.
    let streets: [String]
    /// The region's court, for seizures.
    var court: String { name + "人民法院" }

    /// The small, realistic set of regions the generator uses. The last one (乌鲁木齐市天山区)
    /// gives more minority names.
    static let all: [Region] = [
        Region(
            code: "110105", name: "北京市朝阳区", abbreviation: "京", district: "朝阳区",
            streets: ["建国路", "望京街道阜通东大街", "朝阳北路", "酒仙桥路"]),
        Region(code: "110108", name: "北京市海淀区", abbreviation: "京", district: "海淀区", streets: ["中关村大街", "学院路", "万寿路"]),
        Region(
            code: "310115", name: "上海市浦东新区", abbreviation: "沪", district: "浦东新区", streets: ["世纪大道", "张杨路", "陆家嘴环路"]),
        Region(
            code: "440106", name: "广东省广州市天河区", abbreviation: "粤", district: "天河区", streets: ["天河路", "体育西路", "中山大道西"]),
        Region(code: "510104", name: "四川省成都市锦江区", abbreviation: "川", district: "锦江区", streets: ["春熙路", "东大街", "锦华路"]),
        Region(code: "320102", name: "江苏省南京市玄武区", abbreviation: "苏", district: "玄武区", streets: ["中山路", "北京东路", "珠江路"]),
        Region(code: "420106", name: "湖北省武汉市武昌区", abbreviation: "鄂", district: "武昌区", streets: ["中南路", "武珞路", "和平大道"]),
        Region(code: "330106", name: "浙江省杭州市西湖区", abbreviation: "浙", district: "西湖区", streets: ["文三路", "天目山路", "曙光路"]),
        Region(code: "460202", name: "海南省三亚市海棠区", abbreviation: "琼", district: "海棠区", streets: ["海棠北路", "林旺中路"]),
        Region(
            code: "650102", name: "新疆维吾尔自治区乌鲁木齐市天山区", abbreviation: "新", district: "天山区",
            streets: ["解放南路", "新华北路", "中山路"]),
    ]

    /// Index of 乌鲁木齐市天山区 in ``all``.
    static let minorityRegion = 9
    /// Index of 三亚市海棠区 in ``all``, where retired people relocate to.
    static let retirementRegion = 8

    static let banks = [
        "中国工商银行股份有限公司", "中国建设银行股份有限公司", "中国农业银行股份有限公司", "中国银行股份有限公司", "招商银行股份有限公司",
    ]
}
