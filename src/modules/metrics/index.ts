export { describeSeconds, describeShare, median, percentile, METRIC_LABELS, METRICS, METRICS_WINDOW_DAYS, MetricsTally, summariseMetrics, type MetricFigure, type MetricName, type MetricsSummary } from "./metrics.js";
export { renderShareChart } from "./metrics-chart.js";
export { renderPrometheusMetrics, PROMETHEUS_CONTENT_TYPE } from "./prometheus.js";
export { countOperationalFigures, ServiceLevelMetrics, SERVICE_LEVEL_METRICS_DEFAULTS, summariseServiceLevels, type ServiceLevelMetricsOptions } from "./metrics.service.js";
export { registerMetricsRoutes } from "./metrics.routes.js";
