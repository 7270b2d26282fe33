// The cluster room's door: a process as a node of many sharing one store (node.ts), the
// autoscaler's cluster seams (seams.ts) and the leader's split of a total (shares.ts).
export * from './node.ts';
export { ClusterSeams } from './seams.ts';
export { splitTotal, type ShareNode } from './shares.ts';
