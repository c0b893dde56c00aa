package layers

import "fmt"

// Catalog is the ordered set of layers a deployment serves: the base layers
// of the district plus the derived layers the analyses add. Order is the
// display and MVT layer order.
type Catalog struct {
	layers []*Layer
	byID   map[string]*Layer
}

// NewCatalog returns a catalog of the 13 base layers.
func NewCatalog() *Catalog {
	c := &Catalog{byID: map[string]*Layer{}}
	for _, l := range baseLayers() {
		if err := c.Add(l); err != nil {
			panic(err) // the static table is wrong: a programming error
		}
	}
	return c
}

// Add registers a layer; ids are unique.
func (c *Catalog) Add(l Layer) error {
	if _, dup := c.byID[l.ID]; dup {
		return fmt.Errorf("layer %q registered twice", l.ID)
	}
	lp := &l
	c.layers = append(c.layers, lp)
	c.byID[l.ID] = lp
	return nil
}

// Layer returns a layer by id or an error wrapping ErrUnknownLayer.
func (c *Catalog) Layer(id string) (*Layer, error) {
	if l, ok := c.byID[id]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownLayer, id)
}

// Layers returns every layer in catalog order. The slice is the caller's;
// the layers are shared and must not be modified.
func (c *Catalog) Layers() []*Layer {
	return append([]*Layer(nil), c.layers...)
}

// Base returns the base (stored, non-derived) layers in order.
func (c *Catalog) Base() []*Layer {
	var out []*Layer
	for _, l := range c.layers {
		if !l.Derived {
			out = append(out, l)
		}
	}
	return out
}

// Base layer ids.
const (
	Enterprises        = "enterprises"
	Mines              = "mines"
	Pipelines          = "pipelines"
	WaterSources       = "water_sources"
	FloodSpots         = "flood_spots"
	LifeLanes          = "life_lanes"
	Buildings          = "buildings"
	FireStations       = "fire_stations"
	Roads              = "roads"
	Towns              = "towns"
	Rivers             = "rivers"
	Hazards            = "hazards"
	EmergencyResources = "emergency_resources"
)

func str(name, zh, en string) Field { return Field{Name: name, Type: String, Title: Title{zh, en}} }
func num(name, zh, en, unit string) Field {
	return Field{Name: name, Type: Float, Title: Title{zh, en}, Unit: unit}
}
func integer(name, zh, en string) Field { return Field{Name: name, Type: Int, Title: Title{zh, en}} }
func boolean(name, zh, en string) Field { return Field{Name: name, Type: Bool, Title: Title{zh, en}} }
func date(name, zh, en string) Field    { return Field{Name: name, Type: Date, Title: Title{zh, en}} }
func enum(name, zh, en string, vals ...EnumValue) Field {
	return Field{Name: name, Type: Enum, Title: Title{zh, en}, Values: vals}
}
func required(f Field) Field { f.Required = true; return f }

var (
	nameField = required(str("name", "名称", "Name"))
	townField = str("town", "镇街", "Town")
)

// RiskLevels are the four colours of the dual-prevention mechanism
// (安委办〔2016〕11号), highest first.
var RiskLevels = []EnumValue{
	{"red", "重大风险", "major (red)"},
	{"orange", "较大风险", "high (orange)"},
	{"yellow", "一般风险", "moderate (yellow)"},
	{"blue", "低风险", "low (blue)"},
}

// riskLevel is the risk_level field, which also accepts the short Chinese
// names and the colours used in registers (重大, 红色, …).
func riskLevel() Field {
	f := enum("risk_level", "风险等级", "Risk level", RiskLevels...)
	f.Aliases = map[string]string{
		"重大": "red", "红": "red", "红色": "red", "较大": "orange", "橙": "orange", "橙色": "orange",
		"一般": "yellow", "黄": "yellow", "黄色": "yellow", "低": "blue", "蓝": "blue", "蓝色": "blue",
	}
	return f
}

// HazardStatuses is the lifecycle of a hazard (隐患), in order.
var HazardStatuses = []EnumValue{
	{"reported", "已上报", "reported"},
	{"assigned", "已交办", "assigned"},
	{"rectifying", "整改中", "rectifying"},
	{"accepted", "已验收", "accepted"},
	{"closed", "已销号", "closed"},
}

// HazardOpen reports whether a hazard in this state still needs work: not
// yet accepted (已验收) or closed (已销号). The ledger, the risk index and
// dispatch count open hazards alike.
func HazardOpen(status string) bool {
	return status == "reported" || status == "assigned" || status == "rectifying"
}

// HazardSources are the intake channels of a hazard (SEED-NOTES-1 §4.1).
var HazardSources = []EnumValue{
	{"self_check", "自查上报", "self-check report"},
	{"inspection", "督导检查", "supervisory inspection"},
	{"public_report", "群众举报", "verified public report"},
	{"third_party", "第三方检查", "third-party inspection"},
	{"system", "系统预警", "system alert"},
}

func baseLayers() []Layer {
	return []Layer{
		{ID: Towns, Title: Title{"镇街", "Towns and streets"}, Geometry: []GeomType{Polygon}, MinZoom: 0, MaxZoom: 22,
			Fields: []Field{nameField, required(str("code", "代码", "Code")),
				enum("kind", "类型", "Kind", EnumValue{"street", "街道", "street"}, EnumValue{"town", "镇", "town"}),
				integer("population", "人口", "Population")}},
		{ID: Rivers, Title: Title{"河流岸线", "Rivers"}, Geometry: []GeomType{Line, Polygon}, MinZoom: 0, MaxZoom: 22,
			Fields: []Field{nameField, boolean("main_stem", "长江干流", "Yangtze main stem")}},
		{ID: Roads, Title: Title{"道路", "Roads"}, Geometry: []GeomType{Line}, MinZoom: 8, MaxZoom: 22,
			Fields: []Field{str("name", "名称", "Name"),
				required(enum("class", "等级", "Class",
					EnumValue{"expressway", "高速公路", "expressway"}, EnumValue{"arterial", "主干路", "arterial"},
					EnumValue{"secondary", "次干路", "secondary"}, EnumValue{"branch", "支路", "branch"},
					EnumValue{"rural", "乡村道路", "rural"})),
				num("width_m", "宽度", "Width", "m"), num("speed_kmh", "车速", "Speed", "km/h"),
				boolean("oneway", "单行", "One way")}},
		{ID: Buildings, Title: Title{"建筑", "Buildings"}, Geometry: []GeomType{Polygon}, MinZoom: 13, MaxZoom: 22,
			Fields: []Field{str("name", "名称", "Name"),
				required(enum("use", "用途", "Use",
					EnumValue{"residential", "住宅", "residential"}, EnumValue{"high_rise", "高层建筑", "high-rise"},
					EnumValue{"crowded", "人员密集场所", "crowded place"}, EnumValue{"underground", "地下空间/人防", "underground space"},
					EnumValue{"school", "学校", "school"}, EnumValue{"hospital", "医院", "hospital"},
					EnumValue{"elderly_care", "养老机构", "elderly care"}, EnumValue{"industrial", "厂房", "industrial"},
					EnumValue{"warehouse", "仓库", "warehouse"}, EnumValue{"commercial", "商业", "commercial"},
					EnumValue{"other", "其他", "other"})),
				integer("floors", "层数", "Floors"), num("height_m", "高度", "Height", "m"), townField}},
		{ID: Enterprises, Title: Title{"企业", "Enterprises"}, Geometry: []GeomType{Point}, MinZoom: 10, MaxZoom: 22,
			Fields: []Field{nameField,
				required(enum("category", "行业", "Category",
					EnumValue{"hazchem", "危险化学品", "hazardous chemicals"}, EnumValue{"explosives", "民用爆炸物品", "explosives"},
					EnumValue{"fireworks", "烟花爆竹", "fireworks"}, EnumValue{"gas", "燃气", "gas"},
					EnumValue{"industry", "工贸", "industry and trade"}, EnumValue{"grain", "粮食仓储", "grain storage"},
					EnumValue{"power", "电力/变电站", "power / substation"}, EnumValue{"construction", "建筑施工", "construction"},
					EnumValue{"other", "其他", "other"})),
				required(riskLevel()),
				boolean("major_hazard", "重大危险源", "Major hazard source"), townField,
				integer("staff", "从业人数", "Staff"), str("address", "地址", "Address")}},
		{ID: Mines, Title: Title{"非煤矿山/尾矿库", "Mines and tailings ponds"}, Geometry: []GeomType{Polygon}, MinZoom: 8, MaxZoom: 22,
			Fields: []Field{nameField,
				required(enum("kind", "类型", "Kind",
					EnumValue{"quarry", "采石场", "quarry"}, EnumValue{"limestone", "石灰石矿", "limestone mine"},
					EnumValue{"sand_gravel", "砂石矿", "sand and gravel"}, EnumValue{"clay", "粘土矿", "clay pit"},
					EnumValue{"tailings_pond", "尾矿库", "tailings pond"})),
				required(enum("status", "状态", "Status",
					EnumValue{"operating", "生产", "operating"}, EnumValue{"idle", "停产", "idle"},
					EnumValue{"closing", "关闭中", "closing"}, EnumValue{"closed", "已关闭", "closed"})),
				num("slope_height_m", "边坡高度", "Slope height", "m"), date("idle_since", "停产时间", "Idle since"), townField}},
		{ID: Pipelines, Title: Title{"油气管道", "Pipelines"}, Geometry: []GeomType{Line}, MinZoom: 8, MaxZoom: 22,
			Fields: []Field{nameField,
				required(enum("class", "类别", "Class",
					EnumValue{"oil_long", "长输油管道", "long-distance oil"}, EnumValue{"gas_long", "长输气管道", "long-distance gas"},
					EnumValue{"gas_urban", "城镇燃气管道", "urban gas"})),
				enum("pressure", "压力级制", "Pressure class",
					EnumValue{"low", "低压", "low"}, EnumValue{"medium", "中压", "medium"},
					EnumValue{"sub_high", "次高压", "sub-high"}, EnumValue{"high", "高压", "high"}),
				str("operator", "运营单位", "Operator"), num("diameter_mm", "管径", "Diameter", "mm"),
				num("pressure_mpa", "设计压力", "Pressure", "MPa"), date("inspection_valid_until", "检验有效期至", "Inspection valid until")}},
		{ID: WaterSources, Title: Title{"消防水源", "Fire water sources"}, Geometry: []GeomType{Point}, MinZoom: 12, MaxZoom: 22,
			Fields: []Field{str("name", "名称", "Name"),
				required(enum("kind", "类型", "Kind",
					EnumValue{"hydrant", "市政消火栓", "municipal hydrant"}, EnumValue{"fire_pool", "消防水池", "fire pool"},
					EnumValue{"natural_intake", "天然水源取水点", "natural water intake"}, EnumValue{"forest_pool", "森林消防水池", "forest fire pool"})),
				required(enum("status", "状态", "Status",
					EnumValue{"in_service", "在用", "in service"}, EnumValue{"faulty", "故障", "faulty"},
					EnumValue{"planned", "规划", "planned"})),
				num("flow_lps", "流量", "Flow", "L/s"), num("pressure_mpa", "压力", "Pressure", "MPa"),
				boolean("key_area", "重点区域", "Key area"), townField}},
		{ID: FloodSpots, Title: Title{"易涝点/积水点", "Flood spots"}, Geometry: []GeomType{Point, Polygon}, MinZoom: 10, MaxZoom: 22,
			Fields: []Field{str("name", "名称", "Name"), required(num("max_depth_cm", "最大积水深度", "Max depth", "cm")),
				enum("grade", "等级", "Grade", EnumValue{"severe", "严重", "severe"}, EnumValue{"moderate", "较重", "moderate"},
					EnumValue{"light", "一般", "light"}),
				date("last_event", "最近积水", "Last event"), townField}},
		{ID: LifeLanes, Title: Title{"生命通道", "Life lanes"}, Geometry: []GeomType{Line}, MinZoom: 12, MaxZoom: 22,
			Fields: []Field{str("name", "名称", "Name"),
				required(enum("kind", "类型", "Kind",
					EnumValue{"fire_lane", "消防车通道", "fire lane"}, EnumValue{"evacuation", "疏散通道", "evacuation route"},
					EnumValue{"rescue_corridor", "救援通道", "rescue corridor"})),
				num("width_m", "净宽", "Clear width", "m"), num("clear_height_m", "净高", "Clear height", "m"),
				required(enum("status", "状态", "Status",
					EnumValue{"clear", "畅通", "clear"}, EnumValue{"occupied", "占用", "occupied"}, EnumValue{"blocked", "堵塞", "blocked"})),
				boolean("marked", "标识标线", "Marked"), str("compound", "所属小区/单位", "Compound"),
				boolean("on_6n_list", "6+N清单", "On the 6+N list"), townField}},
		{ID: FireStations, Title: Title{"消防救援站", "Fire stations"}, Geometry: []GeomType{Point}, MinZoom: 0, MaxZoom: 22,
			Fields: []Field{nameField,
				required(enum("kind", "类型", "Kind",
					EnumValue{"station", "消防救援站", "fire and rescue station"}, EnumValue{"full_time", "专职消防队", "full-time brigade"},
					EnumValue{"micro", "微型消防站", "micro station"})),
				enum("grade", "等级", "Grade", EnumValue{"special", "特勤站", "special service"}, EnumValue{"grade1", "一级站", "grade 1"},
					EnumValue{"grade2", "二级站", "grade 2"}, EnumValue{"small", "小型站", "small"}),
				integer("engines", "消防车", "Engines"), townField}},
		{ID: Hazards, Title: Title{"隐患", "Hazards"}, Geometry: []GeomType{Point}, MinZoom: 10, MaxZoom: 22,
			Fields: []Field{str("title", "隐患描述", "Description"),
				required(enum("category", "类别", "Category",
					EnumValue{"fire", "消防", "fire"}, EnumValue{"hazchem", "危险化学品", "hazardous chemicals"},
					EnumValue{"mine", "矿山", "mines"}, EnumValue{"gas", "燃气", "gas"},
					EnumValue{"construction", "建筑施工", "construction"}, EnumValue{"traffic", "交通", "traffic"},
					EnumValue{"industry", "工贸", "industry and trade"}, EnumValue{"flood", "防汛", "flood"},
					EnumValue{"other", "其他", "other"})),
				boolean("major", "重大事故隐患", "Major hazard"),
				required(enum("status", "状态", "Status", HazardStatuses...)),
				date("found_date", "发现日期", "Found on"), date("deadline", "整改期限", "Deadline"),
				str("responsible_unit", "责任单位", "Responsible unit"), str("responsible_person", "责任人", "Responsible person"),
				boolean("listed_supervision", "挂牌督办", "Listed supervision"), townField,
				// the ledger (隐患台账, package ledger): what, where, how it is fixed and who accepted it
				str("description", "隐患详述", "Details"), str("location", "具体位置", "Location"),
				enum("source", "发现渠道", "Found by", HazardSources...),
				str("measures", "整改措施", "Rectification measures"),
				str("temporary_measures", "临时性保护措施", "Temporary protective measures"),
				str("acceptance_officer", "验收人员", "Acceptance officer"), date("acceptance_date", "验收时间", "Accepted on"),
				date("closed_date", "销号日期", "Closed on"),
				boolean("overdue", "逾期", "Overdue")}},
		{ID: EmergencyResources, Title: Title{"应急资源", "Emergency resources"}, Geometry: []GeomType{Point}, MinZoom: 10, MaxZoom: 22,
			Fields: []Field{nameField,
				required(enum("kind", "类型", "Kind",
					EnumValue{"supply_depot", "应急物资库", "supply depot"}, EnumValue{"rescue_team", "救援队伍", "rescue team"},
					EnumValue{"shelter", "应急避难场所", "shelter"}, EnumValue{"hospital", "医院", "hospital"})),
				integer("capacity", "容量", "Capacity"), townField}},
	}
}
