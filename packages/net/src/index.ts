// @lguest/net: the network device, launcher side. The CLI adds one per --sharenet, --net or
// --tunnet option; the user-mode TCP/IP stack behind --net=user is in tcpip/.
export * from './sharenet';
export * from './peer';
export * from './usernet';
export * from './tunnet';
export { UserNetStack, DEFAULT_CONFIG, type UserNetConfig, type UserNetHost } from './tcpip/stack';
export { TcpConnection, type TcpPeer } from './tcpip/tcp';
