-- riskmap migration 1: PostGIS and the tables of the 13 base layers.
-- Generated once from the catalog (go run ./layers/postgis/internal/gen);
-- released migrations are never edited: schema changes are new files.
CREATE EXTENSION IF NOT EXISTS postgis;

-- towns: 镇街 / Towns and streets
CREATE TABLE "towns" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "towns_geom_type" CHECK (GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')),
    "name" text NOT NULL,
    "code" text NOT NULL,
    "kind" text
        CONSTRAINT "towns_kind_code" CHECK ("kind" IN ('street', 'town')),
    "population" bigint
);
CREATE INDEX "towns_geom_gist" ON "towns" USING gist (geom);
CREATE INDEX "towns_kind_idx" ON "towns" ("kind");
COMMENT ON TABLE "towns" IS '镇街 / Towns and streets — riskmap base layer "towns"; geometry Polygon or MultiPolygon in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "towns".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "towns".geom IS '几何 / Geometry: Polygon or MultiPolygon, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "towns"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "towns"."code" IS '代码 / Code (required)';
COMMENT ON COLUMN "towns"."kind" IS '类型 / Kind. Codes: street = 街道 / street; town = 镇 / town';
COMMENT ON COLUMN "towns"."population" IS '人口 / Population';

-- rivers: 河流岸线 / Rivers
CREATE TABLE "rivers" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "rivers_geom_type" CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON')),
    "name" text NOT NULL,
    "main_stem" boolean
);
CREATE INDEX "rivers_geom_gist" ON "rivers" USING gist (geom);
COMMENT ON TABLE "rivers" IS '河流岸线 / Rivers — riskmap base layer "rivers"; geometry LineString or MultiLineString; Polygon or MultiPolygon in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "rivers".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "rivers".geom IS '几何 / Geometry: LineString or MultiLineString; Polygon or MultiPolygon, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "rivers"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "rivers"."main_stem" IS '长江干流 / Yangtze main stem';

-- roads: 道路 / Roads
CREATE TABLE "roads" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "roads_geom_type" CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
    "name" text,
    "class" text NOT NULL
        CONSTRAINT "roads_class_code" CHECK ("class" IN ('expressway', 'arterial', 'secondary', 'branch', 'rural')),
    "width_m" double precision,
    "speed_kmh" double precision,
    "oneway" boolean
);
CREATE INDEX "roads_geom_gist" ON "roads" USING gist (geom);
CREATE INDEX "roads_class_idx" ON "roads" ("class");
COMMENT ON TABLE "roads" IS '道路 / Roads — riskmap base layer "roads"; geometry LineString or MultiLineString in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "roads".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "roads".geom IS '几何 / Geometry: LineString or MultiLineString, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "roads"."name" IS '名称 / Name';
COMMENT ON COLUMN "roads"."class" IS '等级 / Class (required). Codes: expressway = 高速公路 / expressway; arterial = 主干路 / arterial; secondary = 次干路 / secondary; branch = 支路 / branch; rural = 乡村道路 / rural';
COMMENT ON COLUMN "roads"."width_m" IS '宽度 / Width [m]';
COMMENT ON COLUMN "roads"."speed_kmh" IS '车速 / Speed [km/h]';
COMMENT ON COLUMN "roads"."oneway" IS '单行 / One way';

-- buildings: 建筑 / Buildings
CREATE TABLE "buildings" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "buildings_geom_type" CHECK (GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')),
    "name" text,
    "use" text NOT NULL
        CONSTRAINT "buildings_use_code" CHECK ("use" IN ('residential', 'high_rise', 'crowded', 'underground', 'school', 'hospital', 'elderly_care', 'industrial', 'warehouse', 'commercial', 'other')),
    "floors" bigint,
    "height_m" double precision,
    "town" text
);
CREATE INDEX "buildings_geom_gist" ON "buildings" USING gist (geom);
CREATE INDEX "buildings_town_idx" ON "buildings" ("town");
COMMENT ON TABLE "buildings" IS '建筑 / Buildings — riskmap base layer "buildings"; geometry Polygon or MultiPolygon in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "buildings".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "buildings".geom IS '几何 / Geometry: Polygon or MultiPolygon, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "buildings"."name" IS '名称 / Name';
COMMENT ON COLUMN "buildings"."use" IS '用途 / Use (required). Codes: residential = 住宅 / residential; high_rise = 高层建筑 / high-rise; crowded = 人员密集场所 / crowded place; underground = 地下空间/人防 / underground space; school = 学校 / school; hospital = 医院 / hospital; elderly_care = 养老机构 / elderly care; industrial = 厂房 / industrial; warehouse = 仓库 / warehouse; commercial = 商业 / commercial; other = 其他 / other';
COMMENT ON COLUMN "buildings"."floors" IS '层数 / Floors';
COMMENT ON COLUMN "buildings"."height_m" IS '高度 / Height [m]';
COMMENT ON COLUMN "buildings"."town" IS '镇街 / Town';

-- enterprises: 企业 / Enterprises
CREATE TABLE "enterprises" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "enterprises_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT')),
    "name" text NOT NULL,
    "category" text NOT NULL
        CONSTRAINT "enterprises_category_code" CHECK ("category" IN ('hazchem', 'explosives', 'fireworks', 'gas', 'industry', 'grain', 'power', 'construction', 'other')),
    "risk_level" text NOT NULL
        CONSTRAINT "enterprises_risk_level_code" CHECK ("risk_level" IN ('red', 'orange', 'yellow', 'blue')),
    "major_hazard" boolean,
    "town" text,
    "staff" bigint,
    "address" text
);
CREATE INDEX "enterprises_geom_gist" ON "enterprises" USING gist (geom);
CREATE INDEX "enterprises_category_idx" ON "enterprises" ("category");
CREATE INDEX "enterprises_risk_level_idx" ON "enterprises" ("risk_level");
CREATE INDEX "enterprises_town_idx" ON "enterprises" ("town");
COMMENT ON TABLE "enterprises" IS '企业 / Enterprises — riskmap base layer "enterprises"; geometry Point or MultiPoint in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "enterprises".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "enterprises".geom IS '几何 / Geometry: Point or MultiPoint, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "enterprises"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "enterprises"."category" IS '行业 / Category (required). Codes: hazchem = 危险化学品 / hazardous chemicals; explosives = 民用爆炸物品 / explosives; fireworks = 烟花爆竹 / fireworks; gas = 燃气 / gas; industry = 工贸 / industry and trade; grain = 粮食仓储 / grain storage; power = 电力/变电站 / power / substation; construction = 建筑施工 / construction; other = 其他 / other';
COMMENT ON COLUMN "enterprises"."risk_level" IS '风险等级 / Risk level (required). Codes: red = 重大风险 / major (red); orange = 较大风险 / high (orange); yellow = 一般风险 / moderate (yellow); blue = 低风险 / low (blue)';
COMMENT ON COLUMN "enterprises"."major_hazard" IS '重大危险源 / Major hazard source';
COMMENT ON COLUMN "enterprises"."town" IS '镇街 / Town';
COMMENT ON COLUMN "enterprises"."staff" IS '从业人数 / Staff';
COMMENT ON COLUMN "enterprises"."address" IS '地址 / Address';

-- mines: 非煤矿山/尾矿库 / Mines and tailings ponds
CREATE TABLE "mines" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "mines_geom_type" CHECK (GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')),
    "name" text NOT NULL,
    "kind" text NOT NULL
        CONSTRAINT "mines_kind_code" CHECK ("kind" IN ('quarry', 'limestone', 'sand_gravel', 'clay', 'tailings_pond')),
    "status" text NOT NULL
        CONSTRAINT "mines_status_code" CHECK ("status" IN ('operating', 'idle', 'closing', 'closed')),
    "slope_height_m" double precision,
    "idle_since" date,
    "town" text
);
CREATE INDEX "mines_geom_gist" ON "mines" USING gist (geom);
CREATE INDEX "mines_kind_idx" ON "mines" ("kind");
CREATE INDEX "mines_status_idx" ON "mines" ("status");
CREATE INDEX "mines_town_idx" ON "mines" ("town");
COMMENT ON TABLE "mines" IS '非煤矿山/尾矿库 / Mines and tailings ponds — riskmap base layer "mines"; geometry Polygon or MultiPolygon in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "mines".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "mines".geom IS '几何 / Geometry: Polygon or MultiPolygon, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "mines"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "mines"."kind" IS '类型 / Kind (required). Codes: quarry = 采石场 / quarry; limestone = 石灰石矿 / limestone mine; sand_gravel = 砂石矿 / sand and gravel; clay = 粘土矿 / clay pit; tailings_pond = 尾矿库 / tailings pond';
COMMENT ON COLUMN "mines"."status" IS '状态 / Status (required). Codes: operating = 生产 / operating; idle = 停产 / idle; closing = 关闭中 / closing; closed = 已关闭 / closed';
COMMENT ON COLUMN "mines"."slope_height_m" IS '边坡高度 / Slope height [m]';
COMMENT ON COLUMN "mines"."idle_since" IS '停产时间 / Idle since (date)';
COMMENT ON COLUMN "mines"."town" IS '镇街 / Town';

-- pipelines: 油气管道 / Pipelines
CREATE TABLE "pipelines" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "pipelines_geom_type" CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
    "name" text NOT NULL,
    "class" text NOT NULL
        CONSTRAINT "pipelines_class_code" CHECK ("class" IN ('oil_long', 'gas_long', 'gas_urban')),
    "pressure" text
        CONSTRAINT "pipelines_pressure_code" CHECK ("pressure" IN ('low', 'medium', 'sub_high', 'high')),
    "operator" text,
    "diameter_mm" double precision,
    "pressure_mpa" double precision,
    "inspection_valid_until" date
);
CREATE INDEX "pipelines_geom_gist" ON "pipelines" USING gist (geom);
CREATE INDEX "pipelines_class_idx" ON "pipelines" ("class");
COMMENT ON TABLE "pipelines" IS '油气管道 / Pipelines — riskmap base layer "pipelines"; geometry LineString or MultiLineString in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "pipelines".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "pipelines".geom IS '几何 / Geometry: LineString or MultiLineString, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "pipelines"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "pipelines"."class" IS '类别 / Class (required). Codes: oil_long = 长输油管道 / long-distance oil; gas_long = 长输气管道 / long-distance gas; gas_urban = 城镇燃气管道 / urban gas';
COMMENT ON COLUMN "pipelines"."pressure" IS '压力级制 / Pressure class. Codes: low = 低压 / low; medium = 中压 / medium; sub_high = 次高压 / sub-high; high = 高压 / high';
COMMENT ON COLUMN "pipelines"."operator" IS '运营单位 / Operator';
COMMENT ON COLUMN "pipelines"."diameter_mm" IS '管径 / Diameter [mm]';
COMMENT ON COLUMN "pipelines"."pressure_mpa" IS '设计压力 / Pressure [MPa]';
COMMENT ON COLUMN "pipelines"."inspection_valid_until" IS '检验有效期至 / Inspection valid until (date)';

-- water_sources: 消防水源 / Fire water sources
CREATE TABLE "water_sources" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "water_sources_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT')),
    "name" text,
    "kind" text NOT NULL
        CONSTRAINT "water_sources_kind_code" CHECK ("kind" IN ('hydrant', 'fire_pool', 'natural_intake', 'forest_pool')),
    "status" text NOT NULL
        CONSTRAINT "water_sources_status_code" CHECK ("status" IN ('in_service', 'faulty', 'planned')),
    "flow_lps" double precision,
    "pressure_mpa" double precision,
    "key_area" boolean,
    "town" text
);
CREATE INDEX "water_sources_geom_gist" ON "water_sources" USING gist (geom);
CREATE INDEX "water_sources_kind_idx" ON "water_sources" ("kind");
CREATE INDEX "water_sources_status_idx" ON "water_sources" ("status");
CREATE INDEX "water_sources_town_idx" ON "water_sources" ("town");
COMMENT ON TABLE "water_sources" IS '消防水源 / Fire water sources — riskmap base layer "water_sources"; geometry Point or MultiPoint in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "water_sources".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "water_sources".geom IS '几何 / Geometry: Point or MultiPoint, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "water_sources"."name" IS '名称 / Name';
COMMENT ON COLUMN "water_sources"."kind" IS '类型 / Kind (required). Codes: hydrant = 市政消火栓 / municipal hydrant; fire_pool = 消防水池 / fire pool; natural_intake = 天然水源取水点 / natural water intake; forest_pool = 森林消防水池 / forest fire pool';
COMMENT ON COLUMN "water_sources"."status" IS '状态 / Status (required). Codes: in_service = 在用 / in service; faulty = 故障 / faulty; planned = 规划 / planned';
COMMENT ON COLUMN "water_sources"."flow_lps" IS '流量 / Flow [L/s]';
COMMENT ON COLUMN "water_sources"."pressure_mpa" IS '压力 / Pressure [MPa]';
COMMENT ON COLUMN "water_sources"."key_area" IS '重点区域 / Key area';
COMMENT ON COLUMN "water_sources"."town" IS '镇街 / Town';

-- flood_spots: 易涝点/积水点 / Flood spots
CREATE TABLE "flood_spots" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "flood_spots_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT', 'POLYGON', 'MULTIPOLYGON')),
    "name" text,
    "max_depth_cm" double precision NOT NULL,
    "grade" text
        CONSTRAINT "flood_spots_grade_code" CHECK ("grade" IN ('severe', 'moderate', 'light')),
    "last_event" date,
    "town" text
);
CREATE INDEX "flood_spots_geom_gist" ON "flood_spots" USING gist (geom);
CREATE INDEX "flood_spots_town_idx" ON "flood_spots" ("town");
COMMENT ON TABLE "flood_spots" IS '易涝点/积水点 / Flood spots — riskmap base layer "flood_spots"; geometry Point or MultiPoint; Polygon or MultiPolygon in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "flood_spots".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "flood_spots".geom IS '几何 / Geometry: Point or MultiPoint; Polygon or MultiPolygon, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "flood_spots"."name" IS '名称 / Name';
COMMENT ON COLUMN "flood_spots"."max_depth_cm" IS '最大积水深度 / Max depth [cm] (required)';
COMMENT ON COLUMN "flood_spots"."grade" IS '等级 / Grade. Codes: severe = 严重 / severe; moderate = 较重 / moderate; light = 一般 / light';
COMMENT ON COLUMN "flood_spots"."last_event" IS '最近积水 / Last event (date)';
COMMENT ON COLUMN "flood_spots"."town" IS '镇街 / Town';

-- life_lanes: 生命通道 / Life lanes
CREATE TABLE "life_lanes" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "life_lanes_geom_type" CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
    "name" text,
    "kind" text NOT NULL
        CONSTRAINT "life_lanes_kind_code" CHECK ("kind" IN ('fire_lane', 'evacuation', 'rescue_corridor')),
    "width_m" double precision,
    "clear_height_m" double precision,
    "status" text NOT NULL
        CONSTRAINT "life_lanes_status_code" CHECK ("status" IN ('clear', 'occupied', 'blocked')),
    "marked" boolean,
    "compound" text,
    "on_6n_list" boolean,
    "town" text
);
CREATE INDEX "life_lanes_geom_gist" ON "life_lanes" USING gist (geom);
CREATE INDEX "life_lanes_kind_idx" ON "life_lanes" ("kind");
CREATE INDEX "life_lanes_status_idx" ON "life_lanes" ("status");
CREATE INDEX "life_lanes_town_idx" ON "life_lanes" ("town");
COMMENT ON TABLE "life_lanes" IS '生命通道 / Life lanes — riskmap base layer "life_lanes"; geometry LineString or MultiLineString in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "life_lanes".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "life_lanes".geom IS '几何 / Geometry: LineString or MultiLineString, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "life_lanes"."name" IS '名称 / Name';
COMMENT ON COLUMN "life_lanes"."kind" IS '类型 / Kind (required). Codes: fire_lane = 消防车通道 / fire lane; evacuation = 疏散通道 / evacuation route; rescue_corridor = 救援通道 / rescue corridor';
COMMENT ON COLUMN "life_lanes"."width_m" IS '净宽 / Clear width [m]';
COMMENT ON COLUMN "life_lanes"."clear_height_m" IS '净高 / Clear height [m]';
COMMENT ON COLUMN "life_lanes"."status" IS '状态 / Status (required). Codes: clear = 畅通 / clear; occupied = 占用 / occupied; blocked = 堵塞 / blocked';
COMMENT ON COLUMN "life_lanes"."marked" IS '标识标线 / Marked';
COMMENT ON COLUMN "life_lanes"."compound" IS '所属小区/单位 / Compound';
COMMENT ON COLUMN "life_lanes"."on_6n_list" IS '6+N清单 / On the 6+N list';
COMMENT ON COLUMN "life_lanes"."town" IS '镇街 / Town';

-- fire_stations: 消防救援站 / Fire stations
CREATE TABLE "fire_stations" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "fire_stations_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT')),
    "name" text NOT NULL,
    "kind" text NOT NULL
        CONSTRAINT "fire_stations_kind_code" CHECK ("kind" IN ('station', 'full_time', 'micro')),
    "grade" text
        CONSTRAINT "fire_stations_grade_code" CHECK ("grade" IN ('special', 'grade1', 'grade2', 'small')),
    "engines" bigint,
    "town" text
);
CREATE INDEX "fire_stations_geom_gist" ON "fire_stations" USING gist (geom);
CREATE INDEX "fire_stations_kind_idx" ON "fire_stations" ("kind");
CREATE INDEX "fire_stations_town_idx" ON "fire_stations" ("town");
COMMENT ON TABLE "fire_stations" IS '消防救援站 / Fire stations — riskmap base layer "fire_stations"; geometry Point or MultiPoint in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "fire_stations".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "fire_stations".geom IS '几何 / Geometry: Point or MultiPoint, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "fire_stations"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "fire_stations"."kind" IS '类型 / Kind (required). Codes: station = 消防救援站 / fire and rescue station; full_time = 专职消防队 / full-time brigade; micro = 微型消防站 / micro station';
COMMENT ON COLUMN "fire_stations"."grade" IS '等级 / Grade. Codes: special = 特勤站 / special service; grade1 = 一级站 / grade 1; grade2 = 二级站 / grade 2; small = 小型站 / small';
COMMENT ON COLUMN "fire_stations"."engines" IS '消防车 / Engines';
COMMENT ON COLUMN "fire_stations"."town" IS '镇街 / Town';

-- hazards: 隐患 / Hazards
CREATE TABLE "hazards" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "hazards_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT')),
    "title" text,
    "category" text NOT NULL
        CONSTRAINT "hazards_category_code" CHECK ("category" IN ('fire', 'hazchem', 'mine', 'gas', 'construction', 'traffic', 'industry', 'flood', 'other')),
    "major" boolean,
    "status" text NOT NULL
        CONSTRAINT "hazards_status_code" CHECK ("status" IN ('reported', 'assigned', 'rectifying', 'accepted', 'closed')),
    "found_date" date,
    "deadline" date,
    "responsible_unit" text,
    "responsible_person" text,
    "listed_supervision" boolean,
    "town" text
);
CREATE INDEX "hazards_geom_gist" ON "hazards" USING gist (geom);
CREATE INDEX "hazards_category_idx" ON "hazards" ("category");
CREATE INDEX "hazards_status_idx" ON "hazards" ("status");
CREATE INDEX "hazards_town_idx" ON "hazards" ("town");
COMMENT ON TABLE "hazards" IS '隐患 / Hazards — riskmap base layer "hazards"; geometry Point or MultiPoint in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "hazards".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "hazards".geom IS '几何 / Geometry: Point or MultiPoint, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "hazards"."title" IS '隐患描述 / Description';
COMMENT ON COLUMN "hazards"."category" IS '类别 / Category (required). Codes: fire = 消防 / fire; hazchem = 危险化学品 / hazardous chemicals; mine = 矿山 / mines; gas = 燃气 / gas; construction = 建筑施工 / construction; traffic = 交通 / traffic; industry = 工贸 / industry and trade; flood = 防汛 / flood; other = 其他 / other';
COMMENT ON COLUMN "hazards"."major" IS '重大事故隐患 / Major hazard';
COMMENT ON COLUMN "hazards"."status" IS '状态 / Status (required). Codes: reported = 已上报 / reported; assigned = 已交办 / assigned; rectifying = 整改中 / rectifying; accepted = 已验收 / accepted; closed = 已销号 / closed';
COMMENT ON COLUMN "hazards"."found_date" IS '发现日期 / Found on (date)';
COMMENT ON COLUMN "hazards"."deadline" IS '整改期限 / Deadline (date)';
COMMENT ON COLUMN "hazards"."responsible_unit" IS '责任单位 / Responsible unit';
COMMENT ON COLUMN "hazards"."responsible_person" IS '责任人 / Responsible person';
COMMENT ON COLUMN "hazards"."listed_supervision" IS '挂牌督办 / Listed supervision';
COMMENT ON COLUMN "hazards"."town" IS '镇街 / Town';

-- emergency_resources: 应急资源 / Emergency resources
CREATE TABLE "emergency_resources" (
    id bigint PRIMARY KEY CHECK (id > 0),
    geom geometry(Geometry, 4326) NOT NULL
        CONSTRAINT "emergency_resources_geom_type" CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOINT')),
    "name" text NOT NULL,
    "kind" text NOT NULL
        CONSTRAINT "emergency_resources_kind_code" CHECK ("kind" IN ('supply_depot', 'rescue_team', 'shelter', 'hospital')),
    "capacity" bigint,
    "town" text
);
CREATE INDEX "emergency_resources_geom_gist" ON "emergency_resources" USING gist (geom);
CREATE INDEX "emergency_resources_kind_idx" ON "emergency_resources" ("kind");
CREATE INDEX "emergency_resources_town_idx" ON "emergency_resources" ("town");
COMMENT ON TABLE "emergency_resources" IS '应急资源 / Emergency resources — riskmap base layer "emergency_resources"; geometry Point or MultiPoint in WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "emergency_resources".id IS '要素编号 / Feature id (positive, stable)';
COMMENT ON COLUMN "emergency_resources".geom IS '几何 / Geometry: Point or MultiPoint, WGS84 lon/lat (EPSG:4326)';
COMMENT ON COLUMN "emergency_resources"."name" IS '名称 / Name (required)';
COMMENT ON COLUMN "emergency_resources"."kind" IS '类型 / Kind (required). Codes: supply_depot = 应急物资库 / supply depot; rescue_team = 救援队伍 / rescue team; shelter = 应急避难场所 / shelter; hospital = 医院 / hospital';
COMMENT ON COLUMN "emergency_resources"."capacity" IS '容量 / Capacity';
COMMENT ON COLUMN "emergency_resources"."town" IS '镇街 / Town';

