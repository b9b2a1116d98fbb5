/** The player's GraphQL operations (the schema: schema.graphql at the repository's top). */

export const ME = `query PlayerMe { me { username } }`;

export const LOGIN = `mutation PlayerLogin($username: String!, $password: String!) {
  login(username: $username, password: $password, tokenName: "player") {
    __typename
    ... on LoginSuccess { token }
    ... on Error { message }
  }
}`;

export const ITEMS = `query PlayerItems($search: String) {
  items(first: 50, filter: {search: $search}) {
    totalCount
    nodes { id title artist audioDuration ingestStatus }
  }
}`;

export const ITEM = `query PlayerItem($id: UUID!) {
  item(id: $id) {
    id title artist album audioDuration ingestStatus ingestError
    streamUrl
    results {
      id status error
      preset { processor { pid name kind } }
      outputs { id name unit dataMode timeMode dimensions count value }
    }
    analysisTracks {
      id title color status
      analysis { title outputId renderType }
      result { outputs { id timeMode dimensions } }
    }
  }
}`;

export const WAVEFORM = `query PlayerWaveform($id: UUID!, $start: Float, $stop: Float, $pixels: Int!) {
  item(id: $id) { waveform(start: $start, stop: $stop, pixels: $pixels) { start stop times min max } }
}`;

const SERIES_FIELDS = `dataMode timeMode reduction dimensions unit times durations values min max labels
      labelNames { id name }`;

/** A result's output, or an analysis track's, over a window (both aliased `data`). */
export const SERIES = `query PlayerSeries($id: UUID!, $output: String, $start: Float, $stop: Float, $points: Int!) {
  data: result(id: $id) { series(output: $output, start: $start, stop: $stop, maxPoints: $points) { ${SERIES_FIELDS} } }
}`;

export const TRACK_SERIES = `query PlayerTrackSeries($id: UUID!, $start: Float, $stop: Float, $points: Int!) {
  data: analysisTrack(id: $id) { series(start: $start, stop: $stop, maxPoints: $points) { ${SERIES_FIELDS} } }
}`;

export const VISUAL = `query PlayerVisual($id: UUID!, $output: String, $start: Float, $stop: Float, $width: Int, $height: Int) {
  data: result(id: $id) { visualUrl(output: $output, start: $start, stop: $stop, width: $width, height: $height) }
}`;

export const TRACK_VISUAL = `query PlayerTrackVisual($id: UUID!, $start: Float, $stop: Float, $width: Int, $height: Int) {
  data: analysisTrack(id: $id) { visualUrl(start: $start, stop: $stop, width: $width, height: $height) }
}`;

/** The items nearest to one (null: its similarity descriptors are not computed yet). */
export const SIMILAR = `query PlayerSimilar($id: UUID!) {
  item(id: $id) { similar(first: 10) { edges { distance node { id title artist } } } }
}`;

/** One part of the item's audio analysis over a window: its sections (with the track's
 * summary) or its bars or beats. */
export const STRUCTURE = `query PlayerStructure($id: UUID!, $start: Float, $stop: Float, $sections: Boolean!, $bars: Boolean!, $beats: Boolean!) {
  item(id: $id) {
    audioAnalysis(start: $start, stop: $stop) {
      track @include(if: $sections) { tempo keyName mode timeSignature }
      sections @include(if: $sections) { start duration label }
      bars @include(if: $bars) { start duration }
      beats @include(if: $beats) { start duration }
    }
  }
}`;

export const ITEM_UPDATES = `subscription PlayerItemUpdates($id: UUID!) {
  itemUpdates(itemId: $id) { kind item { ingestStatus ingestError } }
}`;

export const PROCESSORS = `query PlayerProcessors {
  analyzers: processors(first: 100, kind: ANALYZER) { nodes { id pid name } }
  graphers: processors(first: 100, kind: GRAPHER) { nodes { id pid name } }
}`;

export const CREATE_PRESET = `mutation PlayerPreset($processor: UUID!) {
  createPreset(processorId: $processor) {
    __typename
    ... on Preset { id }
    ... on Error { message }
  }
}`;

export const CREATE_EXPERIENCE = `mutation PlayerExperience($title: String!, $presets: [UUID!]) {
  createExperience(input: {title: $title, presetIds: $presets}) {
    __typename
    ... on Experience { id }
    ... on Error { message }
  }
}`;

export const RUN_TASK = `mutation PlayerRun($experience: UUID!, $item: UUID!) {
  createTask(input: {experienceId: $experience, itemId: $item}, run: true) {
    __typename
    ... on Task { id status }
    ... on Error { message }
  }
}`;

export const TASK_UPDATES = `subscription PlayerTaskUpdates($id: UUID!) {
  taskUpdates(taskId: $id) {
    kind
    task { status error itemsTotal itemsDone itemsFailed }
    job { progress }
    result { status preset { processor { pid } } }
  }
}`;

export const ANALYSES = `query PlayerAnalyses { analyses(first: 100) { nodes { id title renderType } } }`;

export const CREATE_TRACK = `mutation PlayerTrack($item: UUID!, $analysis: UUID!, $color: String) {
  createAnalysisTrack(itemId: $item, input: {analysisId: $analysis, color: $color}) {
    __typename
    ... on AnalysisTrack { id }
    ... on Error { message }
  }
}`;

export const COMPUTE_TRACKS = `mutation PlayerCompute($item: UUID!) {
  computeAnalysisTracks(itemId: $item) {
    __typename
    ... on Task { id status }
    ... on Error { message }
  }
}`;
