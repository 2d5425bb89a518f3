// @lguest/net: the network device, launcher side. The CLI adds one per --sharenet, --net or
// --tunnet option; the user-mode TCP/IP stack behind --net=user is in tcpip/.
export * from './sharenet';
