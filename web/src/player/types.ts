/** Shapes of the answers the player reads (a subset of schema.graphql). */

export interface ItemSummary {
  id: string;
  title: string;
  artist: string;
  audioDuration: number | null;
  ingestStatus: string;
}

export interface Output {
  id: string;
  name: string;
  unit: string;
  dataMode: string;
  timeMode: string;
  dimensions: number;
  count: number;
  value: unknown;
}

export interface Result {
  id: string;
  status: string;
  error: string | null;
  preset: { processor: { pid: string; name: string; kind: string } };
  outputs: Output[] | null;
}

export interface Item extends ItemSummary {
  album: string;
  ingestError: string | null;
  streamUrl: string | null;
  results: Result[];
  analysisTracks: AnalysisTrack[];
}

/** An analysis of the catalogue shown on the item, in its colour ("" : the player's). */
export interface AnalysisTrack {
  id: string;
  title: string;
  color: string;
  status: string;
  analysis: { title: string; outputId: string | null; renderType: string } | null;
  result: { outputs: Pick<Output, "id" | "timeMode" | "dimensions">[] | null } | null;
}

export interface Waveform {
  start: number;
  stop: number;
  times: number[];
  min: number[];
  max: number[];
}

export interface Series {
  dataMode: string;
  timeMode: string;
  reduction: string;
  dimensions: number;
  unit: string;
  times: number[];
  durations: number[] | null;
  values: (number | null)[] | null;
  min: (number | null)[] | null;
  max: (number | null)[] | null;
  labels: number[] | null;
  labelNames: { id: number; name: string }[];
}

export interface SimilarEdge {
  distance: number;
  node: { id: string; title: string; artist: string };
}

/** A stretch of time; sections also carry their label ("A", "B"…). */
export interface Interval {
  start: number;
  duration: number;
  label?: string;
}

/** The parts of `Item.audioAnalysis` the player draws (only those asked for are present). */
export interface AudioAnalysis {
  track?: { tempo: number; keyName: string; mode: number; timeSignature: number };
  sections?: Interval[];
  bars?: Interval[];
  beats?: Interval[];
}

/** The time window shown, in seconds. */
export interface View {
  start: number;
  stop: number;
}
